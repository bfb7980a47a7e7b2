"""Forms parse what a person typed; the rules themselves live in ``finance.services``.

Amounts are taken as text and handed to the services unparsed, so the web form and the API get the
same messages ("At most 2 decimal places."). Choices are always the tenant's own rows: an id of
another tenant is "Select a valid choice" on the field, never used.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.forms.utils import pretty_name
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.l10n import day, money
from crm.models import Customer
from finance import amounts, selectors
from finance import models as ledger
from finance.amounts import NotAnAmount, parse_plain
from finance.services import DraftChanges, LineData, TransactionData
from notifications.models import Channel

FIELDS_OF = {
    ledger.Classification.INVOICE: ["account", "type", "lender", "due_on", "category", "back_office_code", "notes"],
    ledger.Classification.CREDIT_NOTE: ["account", "type", "issue_reason", "targets", "category", "back_office_code",
                                 "notes"],
    ledger.Classification.PAYMENT: ["account", "type", "amount", "payment_method", "external_reference", "targets",
                             "category", "back_office_code", "notes"],
    ledger.Classification.REFUND: ["account", "type", "amount", "refund_method", "issue_reason", "external_reference",
                            "category", "back_office_code", "notes"],
}
LINE_KEY = re.compile(r"^lines\[(\d+)\]\.(\w+)$")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def tenant_rows(model, tenant):
    return model.objects.filter(tenant=tenant)


class InvoiceChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        open_amount = money(obj.open_amount, obj.currency)
        return f"{obj.number} · {obj.account.name} · due {day(obj.due_on)} · open {open_amount}"


class TaxRateChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        # ``TaxRate.__str__`` normalizes 20.000 to "2E+1"; show plain digits.
        return f"{obj.name} ({obj.percent.normalize():f} %)"


class AccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} · {obj.get_state_display()}" if obj.state != "active" else obj.name


class TransactionForm(forms.Form):
    account = AccountChoiceField(queryset=ledger.Account.objects.none(), label=_("Account"))
    type = forms.ModelChoiceField(queryset=ledger.TransactionType.objects.none(), required=False,
                                  empty_label=_("Default"), label=_("Type"))
    lender = forms.ModelChoiceField(
        label=_("Due from lender or provider"), queryset=ledger.Lender.objects.none(), required=False,
        empty_label=_("— (due from the customer)"),
        help_text=_("For a fee due from a lender or provider: it is booked on their account, not the "
                               "customer's."),
    )
    amount = forms.CharField(required=False, max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                             label=_("Amount"))
    payment_method = forms.ModelChoiceField(queryset=ledger.PaymentMethod.objects.none(), required=False,
                                            label=_("Payment method"))
    refund_method = forms.ModelChoiceField(queryset=ledger.RefundMethod.objects.none(), required=False,
                                           label=_("Refund method"))
    external_reference = forms.CharField(required=False, max_length=120, label=_("External reference"))
    due_on = forms.DateField(label=_("Due date"), required=False, widget=DATE,
                             help_text=_("Leave empty to use the account's due-date rule."))
    targets = InvoiceChoiceField(queryset=ledger.FinancialTransaction.objects.none(), required=False,
                                 widget=forms.CheckboxSelectMultiple)
    issue_reason = forms.ModelChoiceField(queryset=ledger.IssueReason.objects.none(), required=False, empty_label="—",
                                          label=_("Issue reason"))
    category = forms.ModelChoiceField(queryset=ledger.Category.objects.none(), required=False, label=_("Category"))
    back_office_code = forms.CharField(required=False, max_length=60, label=_("Back office code"))
    notes = forms.CharField(label=_("Shared notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, tenant, classification: str, account: ledger.Account | None = None, editing: bool = False,
                 **kwargs):
        super().__init__(*args, **kwargs)
        keep = set(FIELDS_OF[classification]) - ({"account", "lender", "notes"} if editing else set())
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        if "account" in self.fields:
            self.fields["account"].queryset = selectors.accounts_for(tenant=tenant)
        self.fields["type"].queryset = tenant_rows(ledger.TransactionType, tenant).filter(classification=classification)
        for name, model in (("payment_method", ledger.PaymentMethod), ("refund_method", ledger.RefundMethod),
                            ("category", ledger.Category), ("lender", ledger.Lender),
                            ("issue_reason", ledger.IssueReason)):
            if name in self.fields:
                self.fields[name].queryset = tenant_rows(model, tenant)
        if "targets" in self.fields:
            self.fields["targets"].queryset = selectors.open_invoices(tenant=tenant, account=account)
            self.fields["targets"].label = (
                gettext("Invoices to pay") if classification == ledger.Classification.PAYMENT
                else gettext("Invoices to credit")
            )

    def _given(self, lines) -> dict:
        given = {name: value for name, value in self.cleaned_data.items() if name not in ("account", "notes", "lender")}
        if "targets" in given:
            given["targets"] = list(given["targets"])
        if lines is not None:
            given["lines"] = lines
        return given

    def transaction_data(self, *, lines: list[LineData] | None = None) -> TransactionData:
        """What ``services.create_transaction`` takes from this form (with the line forms' ``lines``)."""
        return TransactionData(**self._given(lines))

    def draft_changes(self, *, lines: list[LineData] | None = None) -> DraftChanges:
        """What ``services.update_draft`` takes from this form: the fields it shows."""
        return DraftChanges(**self._given(lines))


class LineForm(forms.Form):
    product = forms.ModelChoiceField(queryset=ledger.Product.objects.none(), required=False, label=_("Product"))
    description = forms.CharField(required=False, max_length=200, label=_("Description"))
    quantity = forms.CharField(required=False, max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                               label=_("Quantity"))
    unit_price = forms.CharField(required=False, max_length=20,
                                 widget=forms.TextInput(attrs={"inputmode": "decimal"}), label=_("Unit price"))
    discount_percent = forms.CharField(label=_("Discount %"), required=False, max_length=20)
    discount_amount = forms.CharField(label=_("Discount"), required=False, max_length=20)
    tax_rate = TaxRateChoiceField(queryset=ledger.TaxRate.objects.none(), required=False, label=_("Tax rate"),
                                      empty_label=_("Product's rate or none"))

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = tenant_rows(ledger.Product, tenant)
        self.fields["tax_rate"].queryset = tenant_rows(ledger.TaxRate, tenant)
        # A line's fields sit under their table column's header: name each for a screen reader too.
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("aria-label", str(field.label or pretty_name(name)))

    @property
    def is_filled(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return any(data.get(name) for name in ("product", "description", "quantity", "unit_price"))

    def line_data(self):
        data = self.cleaned_data
        return LineData(
            description=data["description"], quantity=data["quantity"], unit_price=data["unit_price"],
            product=data["product"], discount_percent=data["discount_percent"] or None,
            discount_amount=data["discount_amount"] or None, tax_rate=data["tax_rate"],
        )


def _number(value) -> Decimal | None:
    try:
        return parse_plain(value)
    except NotAnAmount:
        return None


def preview_amounts(line_forms, currency: str) -> dict:
    """Net, discount, tax and total of the lines typed so far, for the data-entry page to show
    before saving; a line that cannot be computed yet is counted as incomplete, not an error (the
    service names the field when the form is saved)."""
    figures, incomplete = [], 0
    for form in line_forms:
        data = form.cleaned_data
        quantity, unit_price = _number(data["quantity"] or "1"), _number(data["unit_price"])
        percent = _number(data["discount_percent"]) if data["discount_percent"] else None
        given = _number(data["discount_amount"]) if data["discount_amount"] else None
        rate = data["tax_rate"] or (data["product"].default_tax_rate if data["product"] else None)
        if None in (quantity, unit_price) or (data["discount_percent"] and percent is None) or (
                data["discount_amount"] and given is None):
            incomplete += 1
            continue
        try:
            figures.append(amounts.line_amounts(amounts.LineInput(
                quantity=quantity, unit_price=unit_price, discount_percent=percent, discount_amount=given,
                tax_percent=rate.percent if rate else Decimal(0)), currency))
        except ValueError:
            incomplete += 1
    return {"totals": amounts.total_amounts(figures, currency), "incomplete": incomplete, "currency": currency}


LineFormSet = formset_factory(LineForm, extra=3, max_num=100, absolute_max=100)


def line_initial(line) -> dict:
    return {
        "product": line.product_id, "description": line.description, "quantity": f"{line.quantity.normalize():f}",
        "unit_price": line.unit_price, "discount_percent": line.discount_percent or "",
        "discount_amount": line.discount_given or "", "tax_rate": line.tax_rate_id,
    }


def apply_errors(error: ValidationError, form: forms.Form, line_forms: list[forms.Form] = ()) -> None:
    """Show a service's ``ValidationError`` on the fields it names (``lines[1].quantity`` on the
    second filled line), and anything else above the form, prefixed with what it is about."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, messages in error.message_dict.items():
        match = LINE_KEY.match(key)
        if match and int(match[1]) < len(line_forms):
            line_form = line_forms[int(match[1])]
            field = match[2] if match[2] in line_form.fields else None
            line_form.add_error(field, messages)
            name = str(line_form.fields[field].label).lower() if field else match[2].replace("_", " ")
            form.add_error(None, [gettext("Line %(line)s, %(field)s: %(message)s") % {
                "line": int(match[1]) + 1, "field": name, "message": m} for m in messages])
        elif key in form.fields:
            form.add_error(key, messages)
        else:
            form.add_error(None, [f"{key.replace('_', ' ').capitalize()}: {m}" for m in messages])


def flash_text(error: ValidationError, form: forms.Form | None = None) -> str:
    """One line for a flash message: each message prefixed with the field it is about."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    parts = []
    for key, messages in error.message_dict.items():
        label = form.fields[key].label if form is not None and key in form.fields and form.fields[key].label else key
        prefix = "" if key == "__all__" else f"{str(label).replace('_', ' ').capitalize()}: "
        parts += [f"{prefix}{m}" for m in messages]
    return " ".join(parts)


# --- action forms (the menu of the transaction page and the account page) ------------------------


class RejectForm(forms.Form):
    reason = forms.ModelChoiceField(queryset=ledger.RejectionReason.objects.none(), label=_("Reason"))

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = tenant_rows(ledger.RejectionReason, tenant)


TYPE_LABELS = {
    ledger.Classification.INVOICE_CANCELLATION: _("Invoice cancellation type"),
    ledger.Classification.PAYMENT_CANCELLATION: _("Payment cancellation type"),
    ledger.Classification.WRITE_OFF: _("Write-off type"),
}


class IssueForm(forms.Form):
    """The type and issue reason of what an action issues: an invoice or payment cancellation (the
    type defaults to the classification's default) or a write-off (seed 004: "Select a type of
    write-off (mandatory) and issue reason (optional)")."""

    type = forms.ModelChoiceField(queryset=ledger.TransactionType.objects.none(), label=_("Type"))
    issue_reason = forms.ModelChoiceField(queryset=ledger.IssueReason.objects.none(), required=False, empty_label="—",
                                          label=_("Issue reason"))

    def __init__(self, *args, tenant, classification: str, **kwargs):
        types = tenant_rows(ledger.TransactionType, tenant).filter(classification=classification)
        kwargs.setdefault("initial", {}).setdefault("type", types.filter(is_default=True).values_list("pk", flat=True)
                                                    .first())
        super().__init__(*args, **kwargs)
        field = self.fields["type"]
        field.queryset = types
        field.label = TYPE_LABELS[classification]
        # A cancellation without a type gets the default one; a write-off's type is chosen.
        field.required = classification == ledger.Classification.WRITE_OFF
        field.empty_label = gettext("Choose a type…") if field.required else gettext("Default")
        self.fields["issue_reason"].queryset = tenant_rows(ledger.IssueReason, tenant)


class QuickPayForm(forms.Form):
    payment_method = forms.ModelChoiceField(queryset=ledger.PaymentMethod.objects.none(), label=_("Payment method"))
    external_reference = forms.CharField(required=False, max_length=120, label=_("External reference"))

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payment_method"].queryset = tenant_rows(ledger.PaymentMethod, tenant)


class MoveForm(forms.Form):
    destination = AccountChoiceField(queryset=ledger.Account.objects.none(), label=_("Destination account"))

    def __init__(self, *args, txn, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["destination"].queryset = selectors.move_destinations(txn=txn)


class CommunicateForm(forms.Form):
    """A message about the transaction to its customer, sent by ``notifications.services.communicate``.
    ``templates`` are the messages whose #tags this transaction can fill."""

    channels = forms.MultipleChoiceField(label=_("Send by"),
                                         choices=[(Channel.EMAIL, _("Email")), (Channel.SMS, "SMS")],
                                         widget=forms.CheckboxSelectMultiple, required=False)
    template = forms.ChoiceField(label=_("Message"), required=False)
    subject = forms.CharField(required=False, max_length=300, help_text=_("For email."), label=_("Subject"))
    message = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("Or write your own; tags such as #invoice.number are filled in."),
                              label=_("Message"))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, templates=(), **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("idempotency_key", uuid.uuid4().hex)
        kwargs["initial"].setdefault("channels", [Channel.EMAIL])
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", gettext("— write my own —")), *((m.key, m.label) for m in templates)]


class NotesForm(forms.Form):
    text = forms.CharField(label=_("Shared notes"), widget=forms.Textarea(attrs={"rows": 3}))


class RefundForm(forms.Form):
    amount = forms.CharField(max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"}), label=_("Amount"))
    refund_method = forms.ModelChoiceField(queryset=ledger.RefundMethod.objects.none(), label=_("Refund method"))
    issue_reason = forms.ModelChoiceField(queryset=ledger.IssueReason.objects.none(), required=False, empty_label="—",
                                          label=_("Issue reason"))
    external_reference = forms.CharField(required=False, max_length=120, label=_("External reference"))

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["refund_method"].queryset = tenant_rows(ledger.RefundMethod, tenant)
        self.fields["issue_reason"].queryset = tenant_rows(ledger.IssueReason, tenant)


class AccountStateForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in ("suspend", "reactivate", "terminate")], label=_("Action"))


class OpenAccountForm(forms.Form):
    currency = forms.ChoiceField(choices=[(c, c) for c in settings.CURRENCIES], label=_("Currency"))
    credit_limit = forms.CharField(max_length=20, initial="0.00", label=_("Credit limit"))
    due_date_rule = forms.ModelChoiceField(queryset=ledger.DueDateRule.objects.none(), required=False,
                                           empty_label=_("The ledger's rule"), label=_("Due date rule"))

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["due_date_rule"].queryset = tenant_rows(ledger.DueDateRule, tenant)
        self.fields["currency"].initial = tenant.default_currency


# --- the summary's filters -----------------------------------------------------------------------


class TransactionFilterForm(forms.Form):
    classification = forms.ChoiceField(required=False,
                                       choices=[("", _("Any classification")), *ledger.Classification.choices],
                                       label=_("Classification"))
    state = forms.ChoiceField(required=False, choices=[("", _("Any state")), *ledger.TransactionState.choices],
                              label=_("State"))
    account = forms.ModelChoiceField(queryset=ledger.Account.objects.none(), required=False,
                                     empty_label=_("Any account"), label=_("Account"))
    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), required=False, empty_label=_("Any customer"),
                                      label=_("Customer"))
    posted_from = forms.DateField(required=False, widget=DATE, label=_("Posted from"))
    posted_to = forms.DateField(required=False, widget=DATE, label=_("Posted to"))
    number = forms.CharField(required=False, max_length=60,
                             widget=forms.TextInput(attrs={"placeholder": _("Number, reference or code")}),
                             label=_("Number"))

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = selectors.accounts_for(tenant=tenant).select_related(None)
        self.fields["customer"].queryset = Customer.objects.filter(tenant=tenant, accounts__isnull=False).distinct()

    def offer_plain_choices(self) -> None:
        """Before the filters are rendered: give the account and customer fields, which offer every
        account and customer of the tenant, their options as (id, name) text pairs read in one query
        each. Model instances (a customer parses its phone number) and Django's one template per option
        cost more than the rest of the page. The fields still validate a choice against their querysets."""
        for name in ("account", "customer"):
            field = self.fields[name]
            options = field.queryset.values_list("pk", "name")  # an account's and a customer's label is its name
            field.choices = [("", field.empty_label), *((str(pk), label) for pk, label in options)]

    def filters(self) -> selectors.TransactionFilter:
        self.is_valid()  # a malformed filter is shown on its field and left out
        data = self.cleaned_data
        return selectors.TransactionFilter(
            classification=data.get("classification") or "", state=data.get("state") or "",
            account_id=data["account"].pk if data.get("account") else None,
            customer_id=data["customer"].pk if data.get("customer") else None,
            posted_from=data.get("posted_from"), posted_to=data.get("posted_to"), number=data.get("number") or "",
        )


# --- the settings area -----------------------------------------------------------------------------


class SettingForm(forms.ModelForm):
    """The base of the settings forms: every choice is limited to the tenant's own rows."""

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField):
                field.queryset = field.queryset.model.objects.filter(tenant=tenant)

    def _post_clean(self):
        # Set the fields on the instance, as a model form does, but leave validating the row to the service,
        # which knows its tenant (model forms skip the constraints on ``tenant``).
        opts = self._meta
        self.instance = forms.models.construct_instance(self, self.instance, opts.fields, opts.exclude)

    def many_to_many(self) -> dict[str, list]:
        """The chosen rows of each many-to-many field (``is_valid`` has set the other fields on the instance)."""
        many = {f.name for f in self._meta.model._meta.many_to_many}
        return {k: list(v) for k, v in self.cleaned_data.items() if k in many}


def _unscoped_formfield(field, **kwargs):
    # Built at import, outside any tenant scope: start from an empty queryset; ``SettingForm``
    # gives each choice the tenant's rows.
    if field.is_relation:
        kwargs["queryset"] = field.related_model._base_manager.none()
    return field.formfield(**kwargs)


# What the settings pages call the fields of the configuration rows (the models leave their names to Django).
SETTING_LABELS = {
    "code": _("Code"), "name": _("Name"), "default_tax_rate": _("Default tax rate"), "unit_price": _("Unit price"),
    "percent": _("Percent"), "classification": _("Classification"), "is_default": _("Default"), "fee_payer": _("Fee"),
    "payment_methods": _("Payment methods"), "refund_methods": _("Refund methods"), "categories": _("Categories"),
    "text": _("Text"), "email": _("Email"), "kind": _("Kind"), "days": _("Days"), "nth_day": _("Day of the month"),
    "months": _("Months"), "proximity_days": _("Proximity days"), "allocation_principle": _("Allocation principle"),
    "due_date_rule": _("Due-date rule"), "default_write_off_product": _("Write-off product"),
}


def setting_form(model, field_names: list[str]):
    overrides = {}
    if model is ledger.TaxRate:
        overrides["percent"] = forms.DecimalField(label=_("Percent"), max_digits=6, decimal_places=3, min_value=0,
                                               max_value=100)
    return forms.modelform_factory(
        model, form=type(f"{model.__name__}Form", (SettingForm,), overrides), fields=field_names,
        formfield_callback=_unscoped_formfield, labels={name: SETTING_LABELS[name] for name in field_names},
        widgets={name: forms.CheckboxSelectMultiple for name in ("payment_methods", "refund_methods", "categories")},
    )


LEDGER_FIELDS = ["allocation_principle", "due_date_rule", "default_write_off_product"]
LedgerDefinitionForm = setting_form(ledger.LedgerDefinition, LEDGER_FIELDS)
