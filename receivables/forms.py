"""Forms of receivables' pages: a dunning level, the settings, a hold, and a statement's period."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from finance.models import Classification, FeePayer, TransactionType
from receivables.models import HoldReason
from receivables.services.levels import LevelData


class LevelForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    days = forms.IntegerField(label=_("Days after the due date"), min_value=-60, max_value=365,
                              help_text=_("A negative number sends it before the due date: -3 is three days before."))
    email = forms.BooleanField(label=_("By email"), required=False, initial=True)
    sms = forms.BooleanField(label=_("By SMS"), required=False)
    fee_amount = forms.DecimalField(label=_("Late fee"), required=False, min_value=0, max_digits=12, decimal_places=2,
                                    help_text=_("Charged once per invoice with this notice. Empty: no fee."))
    fee_type = forms.ModelChoiceField(label=_("Late fee's invoice type"), queryset=TransactionType.objects.none(),
                                      required=False)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fee_type"].queryset = TransactionType.objects.filter(
            tenant=tenant, classification=Classification.INVOICE).exclude(fee_payer=FeePayer.PROVIDER)

    @staticmethod
    def initial_of(level) -> dict:
        return {"name": level.name, "days": level.days, "email": level.email, "sms": level.sms,
                "fee_amount": level.fee_amount, "fee_type": level.fee_type_id}

    def data_of(self) -> LevelData:
        data = self.cleaned_data
        return LevelData(name=data["name"], days=data["days"], email=data["email"], sms=data["sms"],
                         fee_amount=data["fee_amount"], fee_type=data["fee_type"])


class SettingsForm(forms.Form):
    dunning_enabled = forms.BooleanField(label=_("Send dunning notices"), required=False)
    monthly_statements = forms.BooleanField(
        label=_("Email statements of account every month"), required=False,
        help_text=_("On a month's first days, last month's statement goes to every customer with an email address "
                    "and a balance or movements."))


class HoldForm(forms.Form):
    reason = forms.ChoiceField(label=_("Why"), choices=HoldReason.choices)
    until = forms.DateField(label=_("Until"), required=False,
                            help_text=_("Needed for a promise to pay; a dispute without a date holds until released."),
                            widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
