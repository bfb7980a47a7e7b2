"""The ledger's settings area for accountants."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.access import staff_view
from finance import models as ledger
from finance import selectors, services
from finance.forms import (
    LEDGER_FIELDS,
    SETTING_LABELS,
    LedgerDefinitionForm,
    apply_errors,
    setting_form,
)
from finance.views.common import require_accountant

# --- settings ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    model: type
    fields: list[str]
    title: str
    columns: list[str]


SETTINGS = {
    "products": Setting(ledger.Product, ["code", "name", "default_tax_rate", "unit_price"], _("Products"),
                        ["code", "name", "default_tax_rate", "unit_price"]),
    "tax-rates": Setting(ledger.TaxRate, ["name", "percent"], _("Tax rates"), ["name", "percent"]),
    "transaction-types": Setting(
        ledger.TransactionType,
        ["name", "classification", "is_default", "fee_payer", "payment_methods", "refund_methods", "categories"],
        _("Transaction types"), ["name", "classification", "is_default", "fee_payer"],
    ),
    "payment-methods": Setting(ledger.PaymentMethod, ["name"], _("Payment methods"), ["name"]),
    "refund-methods": Setting(ledger.RefundMethod, ["name"], _("Refund methods"), ["name"]),
    "categories": Setting(ledger.Category, ["name"], _("Categories"), ["name"]),
    "rejection-reasons": Setting(ledger.RejectionReason, ["text"], _("Rejection reasons"), ["text"]),
    "lenders": Setting(ledger.Lender, ["name", "email"], _("Lenders and providers"), ["name", "email"]),
    "issue-reasons": Setting(ledger.IssueReason, ["text"], _("Issue reasons"), ["text"]),
    "due-date-rules": Setting(ledger.DueDateRule, ["name", "kind", "days", "nth_day", "months", "proximity_days"],
                              _("Due-date rules"), ["name", "kind", "days", "nth_day", "months", "proximity_days"]),
}


def _setting(entity: str) -> Setting:
    if entity not in SETTINGS:
        raise Http404(gettext("No such setting."))
    return SETTINGS[entity]


@staff_view
def settings_index(request):
    require_accountant(request)
    return render(request, "finance/settings_index.html", {"settings": SETTINGS})


@staff_view
def setting_list(request, entity: str):
    setting = _setting(entity)
    require_accountant(request)
    rows = setting.model.objects.filter(tenant=request.tenant)
    related = [c for c in setting.columns if setting.model._meta.get_field(c).is_relation]
    if related:
        rows = rows.select_related(*related)
    table = [(row, [_cell(row, column) for column in setting.columns]) for row in rows]
    headers = [SETTING_LABELS[column] for column in setting.columns]
    return render(request, "finance/setting_list.html", {
        "setting": setting, "entity": entity, "table": table, "headers": headers,
    })


def _cell(row, column: str):
    display = getattr(row, f"get_{column}_display", None)
    value = display() if display else getattr(row, column)
    if value is True or value is False:
        return "yes" if value else ""
    return "" if value is None else value


@staff_view
def setting_edit(request, entity: str, pk: int | None = None):
    setting = _setting(entity)
    instance = setting.model(tenant=request.tenant)
    if pk is not None:
        instance = selectors.find(tenant=request.tenant, model=setting.model, pk=pk)
        if instance is None:
            raise Http404(gettext("No such row."))
    require_accountant(request)
    form = setting_form(setting.model, setting.fields)(request.POST or None, instance=instance,
                                                       tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_configuration(tenant=request.tenant, instance=instance, many=form.many_to_many())
        except ValidationError as error:
            apply_errors(error, form)
        else:
            messages.success(request, f"{setting.model._meta.verbose_name.capitalize()} “{instance}” saved.")
            return redirect("finance:setting_list", entity=entity)
    return render(request, "finance/setting_form.html", {
        "form": form, "setting": setting, "entity": entity, "instance": instance,
    })


@staff_view
def ledger_settings(request):
    require_accountant(request)
    definition = selectors.ledger_definition(tenant=request.tenant)
    form = LedgerDefinitionForm(request.POST or None, instance=definition, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_configuration(tenant=request.tenant, instance=definition)
        except ValidationError as error:
            apply_errors(error, form)
        else:
            messages.success(request, gettext("Ledger definition saved."))
            return redirect("finance:settings_index")
    return render(request, "finance/setting_form.html", {
        "form": form, "setting": Setting(ledger.LedgerDefinition, LEDGER_FIELDS, gettext("Ledger definition"), []),
        "entity": None, "instance": definition,
    })
