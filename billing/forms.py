"""Forms of billing's pages: a schedule and its lines, and the settings."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import Frequency
from billing.services.schedules import LineInput, ScheduleData
from finance.models import DueDateRule, Product, TaxRate

LINE_ROWS = 5


class ScheduleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, required=False,
                           help_text=_("What the customer is billed for, for example “Monthly policy fee”."))
    frequency = forms.ChoiceField(label=_("How often"), choices=Frequency.choices, initial=Frequency.MONTHLY)
    start_on = forms.DateField(label=_("First invoice on"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    day_of_month = forms.IntegerField(label=_("On day of the month"), required=False, min_value=1, max_value=31,
                                      help_text=_("Monthly, quarterly and yearly: the day each invoice is issued "
                                                  "(the month's last day when shorter). Empty: the start date's day."))
    end_after = forms.IntegerField(label=_("End after this many invoices"), required=False, min_value=1,
                                   max_value=1000)
    end_on = forms.DateField(label=_("Or end on"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                             help_text=_("Both empty: until ended."))
    due_date_rule = forms.ModelChoiceField(label=_("Due date"), queryset=DueDateRule.objects.none(), required=False,
                                           empty_label=_("The account's rule"))
    collect_by_card = forms.BooleanField(label=_("Charge the card on file on the due date"), required=False,
                                         initial=True)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["due_date_rule"].queryset = DueDateRule.objects.filter(tenant=tenant)

    def data_of(self, lines: list[LineInput]) -> ScheduleData:
        data = self.cleaned_data
        return ScheduleData(name=data.get("name") or "", frequency=data.get("frequency") or "",
                            start_on=data.get("start_on"), day_of_month=data.get("day_of_month"),
                            end_after=data.get("end_after"), end_on=data.get("end_on"),
                            due_date_rule=data.get("due_date_rule"), collect_by_card=data.get("collect_by_card", False),
                            lines=lines)


class LineForm(forms.Form):
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.none(), required=False)
    description = forms.CharField(label=_("Description"), required=False)
    quantity = forms.CharField(label=_("Quantity"), required=False, initial="1",
                               widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6}))
    unit_price = forms.CharField(label=_("Unit price"), required=False,
                                 widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 10}))
    tax_rate = forms.ModelChoiceField(label=_("Tax"), queryset=TaxRate.objects.none(), required=False,
                                      empty_label=_("Product's or none"))

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(tenant=tenant)
        self.fields["tax_rate"].queryset = TaxRate.objects.filter(tenant=tenant)

    def line(self) -> LineInput | None:
        """The line, or ``None`` for a row left empty."""
        data = self.cleaned_data
        if not any([data.get("product"), data.get("description"), data.get("unit_price")]):
            return None
        return LineInput(description=data.get("description") or "", quantity=data.get("quantity") or "1",
                         unit_price=data.get("unit_price") or None, product=data.get("product"),
                         tax_rate=data.get("tax_rate"))


def line_forms(data, *, tenant, initial: list[dict] | None = None) -> list[LineForm]:
    rows = max(LINE_ROWS, len(initial or []) + 1)
    initial = initial or []
    return [LineForm(data, tenant=tenant, prefix=f"line{index}",
                     initial=initial[index] if index < len(initial) else None) for index in range(rows)]


def lines_of(forms_: list[LineForm]) -> tuple[list[LineInput], bool]:
    """The lines typed, and whether every row could be read."""
    valid = all(form.is_valid() for form in forms_)
    return [line for form in forms_ if form.is_valid() and (line := form.line()) is not None], valid


class SettingsForm(forms.Form):
    post_invoices = forms.BooleanField(
        label=_("Post each recurring invoice and email it with its pay link"), required=False,
        help_text=_("Off: each is drafted, and staff post and send it from its schedule's page."))
    retry_days = forms.CharField(
        label=_("Charge a declined card again after (days)"), required=False,
        help_text=_("Days after the due date, separated by commas, for example 1, 3, 7. Empty: no retries."))
