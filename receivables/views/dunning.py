"""Dunning's staff pages: the levels and settings (administrators), an invoice's dunning panel on its page
(its notices, late fees to waive, and the hold), and the list of invoices on hold."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.clock import tenant_today
from core.posted import show_errors
from crm.access import require_administrator, require_permission, staff_view
from finance import selectors as finance_selectors
from finance.models import Classification, FinancialTransaction
from receivables import selectors
from receivables.forms import HoldForm, LevelForm, SettingsForm
from receivables.models import DunningNotice
from receivables.services import dunning, levels

ACCOUNTANT = "crm.post_transactions"


@staff_view
@require_http_methods(["GET", "POST"])
def dunning_settings(request):
    require_administrator(request)
    options = selectors.receivables_settings(tenant=request.tenant)
    form = SettingsForm(request.POST or None, initial={"dunning_enabled": options.dunning_enabled,
                                                       "monthly_statements": options.monthly_statements})
    if request.method == "POST" and form.is_valid():
        levels.save_settings(tenant=request.tenant, **form.cleaned_data)
        messages.success(request, _("Saved."))
        return redirect("receivables:dunning_settings")
    return render(request, "receivables/dunning_settings.html", {
        "form": form, "levels": selectors.levels_of(tenant=request.tenant),
        "held": selectors.holds_in_force(tenant=request.tenant, today=tenant_today(request.tenant)).select_related(
            "invoice__account__customer", "created_by")[:100],
    })


@staff_view
@require_http_methods(["GET", "POST"])
def level_edit(request, level_id: int | None = None):
    require_administrator(request)
    level = selectors.get_level(tenant=request.tenant, level_id=level_id) if level_id else None
    form = LevelForm(request.POST or None, tenant=request.tenant,
                     initial=LevelForm.initial_of(level) if level else {"email": True})
    if request.method == "POST" and form.is_valid():
        try:
            levels.save_level(tenant=request.tenant, data=form.data_of(), level=level)
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("receivables:dunning_settings")
    return render(request, "receivables/level_form.html", {"form": form, "level": level},
                  status=422 if form.errors else 200)


@staff_view
@require_POST
def level_delete(request, level_id: int):
    require_administrator(request)
    level = selectors.get_level(tenant=request.tenant, level_id=level_id)
    try:
        levels.delete_level(level=level)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Deleted."))
    return redirect("receivables:dunning_settings")


@staff_view
@require_POST
def levels_suggested(request):
    require_administrator(request)
    levels.add_suggested_levels(tenant=request.tenant)
    return redirect("receivables:dunning_settings")


# --- an invoice's dunning panel --------------------------------------------------------------------------


def _invoice(request, invoice_id: int) -> FinancialTransaction:
    invoice = finance_selectors.get_transaction(tenant=request.tenant, transaction_id=invoice_id)
    if invoice.classification != Classification.INVOICE:
        raise Http404(_("No such invoice."))
    return invoice


def _panel(request, invoice: FinancialTransaction, *, form: HoldForm | None = None, status: int = 200):
    today = tenant_today(request.tenant)
    return render(request, "receivables/_dunning_panel.html", {
        "txn": invoice, "notices": selectors.notices_of(invoice=invoice),
        "hold": selectors.hold_of(invoice=invoice, today=today), "form": form or HoldForm(),
        "fee_notice": selectors.notice_for_fee(fee=invoice), "can_waive": request.user.has_perm(ACCOUNTANT),
        "has_levels": bool(selectors.levels_of(tenant=request.tenant)),
    }, status=status)


@staff_view
@require_http_methods(["GET"])
def invoice_panel(request, invoice_id: int):
    return _panel(request, _invoice(request, invoice_id))


def _answer(request, invoice, *, form=None, status=200, text=""):
    if request.htmx:
        return _panel(request, invoice, form=form, status=status)
    if status >= 400:
        messages.error(request, text)
    elif text:
        messages.success(request, text)
    return redirect("finance:transaction_detail", invoice.pk)


@staff_view
@require_POST
def invoice_hold(request, invoice_id: int):
    invoice = _invoice(request, invoice_id)
    form = HoldForm(request.POST)
    if form.is_valid():
        try:
            dunning.hold_invoice(invoice=invoice, actor=request.user, at=timezone.now(), **form.cleaned_data)
        except ValidationError as error:
            show_errors(form, error)
        else:
            return _answer(request, invoice, text=_("Dunning of this invoice is on hold."))
    return _answer(request, invoice, form=form, status=422, text=_("Nothing was saved: please correct the fields "
                                                                   "marked below."))


@staff_view
@require_POST
def invoice_release(request, invoice_id: int):
    invoice = _invoice(request, invoice_id)
    dunning.release_invoice(invoice=invoice, actor=request.user, at=timezone.now())
    return _answer(request, invoice, text=_("The hold is released; the next sweep chases the invoice again."))


@staff_view
@require_POST
def notice_waive(request, notice_id: int):
    require_permission(request, ACCOUNTANT, _("Only accountants waive late fees."))
    notice = DunningNotice.objects.filter(tenant=request.tenant, pk=notice_id).select_related("invoice").first()
    if notice is None:
        raise Http404
    try:
        credit = dunning.waive_late_fee(notice=notice, actor=request.user, at=timezone.now())
    except ValidationError as error:
        return _answer(request, notice.invoice, status=409, text=" ".join(error.messages))
    return _answer(request, notice.invoice, text=_("The late fee was waived with credit note %(number)s.") % {
        "number": credit.number})
