"""The bank pages' forms: a bank account (with its CSV column mapping), a statement upload, and the
decisions on a line."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from banking.models import BankAccount
from core.bank_codes import compact_iban
from crm.models import Tenant
from finance.models import Classification, FinancialTransaction, TransactionState

DATE_FORMATS = [("%Y-%m-%d", "2026-12-31"), ("%d.%m.%Y", "31.12.2026"), ("%d/%m/%Y", "31/12/2026"),
                ("%m/%d/%Y", "12/31/2026")]
DELIMITERS = [(",", _("Comma")), (";", _("Semicolon")), ("\t", _("Tab"))]
DECIMALS = [(".", "1234.56"), (",", "1234,56")]
CSV_COLUMNS = {
    "date": _("Booking date column"), "amount": _("Amount column (signed)"),
    "credit": _("Credit column (when amounts are split)"), "debit": _("Debit column (when amounts are split)"),
    "currency": _("Currency column"), "reference": _("Bank reference column"), "name": _("Payer name column"),
    "iban": _("Payer IBAN column"), "remittance": _("Remittance text column"),
    "end_to_end": _("End-to-end id column"),
}
SPLIT_ROWS = 5


class BankAccountForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Name"))
    iban = forms.CharField(max_length=42, label=_("IBAN"))
    bic = forms.CharField(max_length=11, required=False, label=_("BIC"))
    currency = forms.CharField(min_length=3, max_length=3, label=_("Currency"))
    pays_refunds = forms.BooleanField(required=False, label=_("Refunds are paid from this account"),
                                      help_text=_("Credit balances in its currency are refunded by transfer from it "
                                                  "(SEPA: euros only). One account per currency."))
    csv_delimiter = forms.ChoiceField(choices=DELIMITERS, initial=",", label=_("CSV: separator"))
    csv_decimal = forms.ChoiceField(choices=DECIMALS, initial=".", label=_("CSV: decimal separator"))
    csv_date_format = forms.ChoiceField(choices=DATE_FORMATS, label=_("CSV: date format"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in CSV_COLUMNS.items():
            self.fields[f"csv_{key}"] = forms.CharField(max_length=100, required=False, label=label)

    def clean_iban(self) -> str:
        try:
            return compact_iban(self.cleaned_data["iban"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_currency(self) -> str:
        code = self.cleaned_data["currency"].strip().upper()
        if not code.isalpha():
            raise forms.ValidationError(_("Use the ISO 4217 code, e.g. EUR."))
        return code

    def clean(self):
        cleaned = super().clean()
        given = [key for key in CSV_COLUMNS if cleaned.get(f"csv_{key}")]
        if given and "date" not in given:
            self.add_error("csv_date", _("A CSV mapping needs the booking date column."))
        if given and "amount" not in given and "credit" not in given:
            self.add_error("csv_amount", _("A CSV mapping needs the amount column, or the credit and debit ones."))
        return cleaned

    def csv_mapping(self) -> dict:
        columns = {key: self.cleaned_data[f"csv_{key}"].strip() for key in CSV_COLUMNS
                   if self.cleaned_data.get(f"csv_{key}", "").strip()}
        if not columns:
            return {}
        return {"columns": columns, "delimiter": self.cleaned_data["csv_delimiter"],
                "decimal": self.cleaned_data["csv_decimal"], "date_format": self.cleaned_data["csv_date_format"]}

    @staticmethod
    def initial_of(account: BankAccount) -> dict:
        mapping = account.csv_mapping or {}
        initial = {"name": account.name, "iban": account.iban, "bic": account.bic, "currency": account.currency,
                   "pays_refunds": account.pays_refunds,
                   "csv_delimiter": mapping.get("delimiter", ","), "csv_decimal": mapping.get("decimal", "."),
                   "csv_date_format": mapping.get("date_format", "%Y-%m-%d")}
        initial.update({f"csv_{key}": value for key, value in (mapping.get("columns") or {}).items()})
        return initial


class StatementImportForm(forms.Form):
    bank_account = forms.ModelChoiceField(
        queryset=BankAccount.objects.none(), required=False, label=_("Bank account"),
        empty_label=_("The one the file names (by IBAN)"),
        help_text=_("CAMT, MT940 and OFX files name their account; a CSV file needs it chosen."),
    )
    file = forms.FileField(label=_("Statement file"),
                           help_text=_("CAMT.053, CAMT.054, MT940, OFX, or CSV with the bank account's mapping."))

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bank_account"].queryset = BankAccount.objects.filter(tenant=tenant)


class SplitForm(forms.Form):
    """Up to five invoices, each with the part of the payment it gets."""

    def __init__(self, *args, tenant: Tenant, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant, self.currency = tenant, currency
        for row in range(1, SPLIT_ROWS + 1):
            self.fields[f"invoice_{row}"] = forms.CharField(
                max_length=20, required=False, label=_("Invoice number"),
                widget=forms.TextInput(attrs={"aria-label": f"{_('Invoice number')} {row}"}))
            self.fields[f"amount_{row}"] = forms.DecimalField(
                max_digits=14, decimal_places=2, required=False, min_value=Decimal("0.01"), label=_("Amount"),
                widget=forms.NumberInput(attrs={"aria-label": f"{_('Amount')} {row}", "step": "0.01"}))

    def rows(self):
        return [(self[f"invoice_{row}"], self[f"amount_{row}"]) for row in range(1, SPLIT_ROWS + 1)]

    def clean(self):
        cleaned = super().clean()
        parts = []
        for row in range(1, SPLIT_ROWS + 1):
            number = (cleaned.get(f"invoice_{row}") or "").strip().upper()
            amount = cleaned.get(f"amount_{row}")
            if not number and amount is None:
                continue
            if not number:
                self.add_error(f"invoice_{row}", _("Name the invoice."))
                continue
            if amount is None:
                self.add_error(f"amount_{row}", _("Give the amount."))
                continue
            invoice = FinancialTransaction.objects.filter(
                tenant=self.tenant, classification=Classification.INVOICE, state=TransactionState.POSTED,
                number=number).first()
            if invoice is None:
                self.add_error(f"invoice_{row}", _("No posted invoice is numbered %(number)s.") % {"number": number})
                continue
            parts.append((invoice, amount))
        if not parts and not self.errors:
            self.add_error("invoice_1", _("Name at least one invoice."))
        cleaned["parts"] = parts
        return cleaned


class ApproveRunForm(forms.Form):
    """Which proposed refunds go into the transfer file, and the day the bank is to execute them."""

    execution_date = forms.DateField(label=_("Execution date"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, run, **kwargs):
        super().__init__(*args, **kwargs)
        self.proposed = list(run.transfers.filter(state="proposed"))
        self.fields["transfers"] = forms.TypedMultipleChoiceField(
            coerce=int, label=_("Refunds"), widget=forms.CheckboxSelectMultiple,
            choices=[(transfer.pk, str(transfer)) for transfer in self.proposed],
            error_messages={"required": _("Choose at least one refund.")})

    @property
    def chosen(self) -> set[int]:
        """The ticked refunds (all of them before the first post)."""
        return {int(value) for value in self["transfers"].value() or [] if str(value).isdigit()}
