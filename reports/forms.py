"""The reports' filter forms and the segment form."""

from __future__ import annotations

from datetime import date

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.models import Customer
from finance.models import Classification, TransactionState
from obligations.models import InstalmentStatus
from reports import selectors
from reports.models import Segment, SegmentSubject

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
CURRENCY_CHOICES = [("", _("Any currency")), *[(c, c) for c in settings.CURRENCIES]]


class ReportForm(forms.Form):
    start = forms.DateField(required=False, widget=DATE, label=_("From"))
    end = forms.DateField(required=False, widget=DATE, label=_("To"))
    currency = forms.ChoiceField(required=False, choices=CURRENCY_CHOICES, label=_("Currency"))
    # A tenant may have tens of thousands of customers: the filter takes the customer's number (the
    # customer file links here with it) rather than rendering every customer as an option.
    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), required=False, label=_("Customer no."),
                                      widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 8}))
    classification = forms.ChoiceField(required=False,
                                       choices=[("", _("Any classification")), *Classification.choices],
                                       label=_("Classification"))
    segment = forms.ModelChoiceField(queryset=Segment.objects.none(), required=False, empty_label=_("No segment"),
                                     label=_("Segment"))

    def __init__(self, *args, tenant, today: date, classifications=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant, self.today = tenant, today
        self.fields["customer"].queryset = Customer.objects.filter(tenant=tenant)
        self.fields["segment"].queryset = Segment.objects.filter(
            tenant=tenant, subject=SegmentSubject.TRANSACTIONS).order_by("name")
        if classifications is None:
            del self.fields["classification"]
        else:
            self.fields["classification"].choices = [
                ("", gettext("Any")), *[(c.value, c.label) for c in classifications]]

    def period(self) -> selectors.Period:
        self.is_valid()  # a malformed filter is shown on its field and left out
        default = selectors.this_month(tenant=self.tenant, today=self.today)
        start = self.cleaned_data.get("start") or default.start
        end = self.cleaned_data.get("end") or default.end
        if end < start:
            start, end = end, start
        return selectors.Period(start=start, end=end, time_zone=self.tenant.time_zone)

    def filters(self) -> selectors.ReportFilter:
        self.is_valid()
        data = self.cleaned_data
        return selectors.ReportFilter(
            currency=data.get("currency") or "", customer_id=data["customer"].pk if data.get("customer") else None,
            classification=data.get("classification") or "", segment=data.get("segment"),
        )


class AgedForm(ReportForm):
    as_of = forms.DateField(required=False, widget=DATE, label=_("As of"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["start"], self.fields["end"]

    def as_of_date(self) -> date:
        self.is_valid()
        return self.cleaned_data.get("as_of") or self.today


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Name"))
    subject = forms.ChoiceField(choices=SegmentSubject.choices, label=_("Segment of"))
    classification = forms.ChoiceField(required=False, choices=[("", _("Any")), *Classification.choices],
                                       label=_("Classification"))
    state = forms.ChoiceField(required=False, choices=[("", _("Any")), *TransactionState.choices,
                                                       *InstalmentStatus.choices], label=_("State"))
    currency = forms.ChoiceField(required=False, choices=CURRENCY_CHOICES, label=_("Currency"))
    overdue_days = forms.IntegerField(required=False, min_value=0, label=_("Overdue more than (days)"))
    min_amount = forms.DecimalField(required=False, decimal_places=2, label=_("Transaction total at least"))
    min_balance = forms.DecimalField(required=False, decimal_places=2, label=_("Account balance at least"))

    RULE_FIELDS = ("classification", "state", "currency", "overdue_days", "min_amount", "min_balance")

    def rules(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.RULE_FIELDS
                if self.cleaned_data.get(name) not in (None, "")}

    @classmethod
    def describe(cls, rules: dict) -> list[str]:
        """A segment's rules as its form's labels and choices read: ["Classification: Invoice", …]."""
        described = []
        for name in cls.RULE_FIELDS:
            if rules.get(name) in (None, ""):
                continue
            field = cls.base_fields[name]
            value = dict(getattr(field, "choices", ())).get(rules[name], rules[name])
            described.append(f"{field.label or name.replace('_', ' ').capitalize()}: {value}")
        return described


class SegmentMessageForm(forms.Form):
    template = forms.ChoiceField(label=_("Message"))
    channels = forms.MultipleChoiceField(choices=[("email", _("Email")), ("sms", "SMS")],
                                         widget=forms.CheckboxSelectMultiple, initial=["email"], label=_("Channels"))
    idempotency_key = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [(t.key, t.label) for t in templates]
