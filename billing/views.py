"""Billing's staff pages: an account's schedules, a schedule (preview, create, change lines, pause, resume,
end, post a draft), every schedule, and the settings."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing import forms, selectors
from billing.models import ScheduleRun
from billing.services import runs, schedules
from core.clock import tenant_today
from core.l10n import day
from core.posted import show_errors
from crm.access import require_administrator, require_permission, staff_view
from finance import selectors as finance_selectors
from finance.exceptions import ActionNotAllowed

ACCOUNTANT = "crm.post_transactions"


def _accountant(request) -> None:
    require_permission(request, ACCOUNTANT, _("Only accountants set up and change recurring invoices."))


def _account(request, account_id: int):
    account = finance_selectors.get_account(tenant=request.tenant, account_id=account_id)
    if account.customer_id is None:
        raise Http404(_("Only a customer's account is billed on a schedule."))
    return account


@staff_view
@require_GET
def account_panel(request, account_id: int):
    account = _account(request, account_id)
    return render(request, "billing/_account_panel.html", {
        "account": account, "schedules": selectors.schedules_of(account=account)})


def _line_errors(error: ValidationError) -> list[str]:
    return [f"{name}: {message}" for name, messages_ in error.message_dict.items() for message in messages_
            if name.startswith("lines")]


@staff_view
@require_http_methods(["GET", "POST"])
def schedule_create(request, account_id: int):
    _accountant(request)
    account = _account(request, account_id)
    form = forms.ScheduleForm(request.POST or None, tenant=request.tenant)
    lines = forms.line_forms(request.POST or None, tenant=request.tenant)
    context = {"account": account, "form": form, "lines": lines, "preview": None, "line_errors": []}
    if request.method == "GET":
        return render(request, "billing/schedule_form.html", context)
    typed, lines_readable = forms.lines_of(lines)
    if not form.is_valid() or not lines_readable:
        return render(request, "billing/schedule_form.html", context, status=422)
    data = form.data_of(typed)
    try:
        if request.POST.get("action") == "save":
            schedule = schedules.create_schedule(account=account, data=data, actor=request.user, at=timezone.now())
            messages.success(request, _("Schedule “%(name)s” saved; its first invoice is issued on %(day)s.") % {
                "name": schedule.name, "day": day(selectors.period_on(schedule, 1), "long")})
            return redirect("billing:schedule_detail", schedule.pk)
        context["preview"] = schedules.preview(account=account, data=data, at=timezone.now())
    except ValidationError as error:
        fields = {name: messages_ for name, messages_ in error.message_dict.items() if not name.startswith("lines")}
        if fields:
            show_errors(form, ValidationError(fields))
        context["line_errors"] = _line_errors(error)
        return render(request, "billing/schedule_form.html", context, status=422)
    return render(request, "billing/schedule_form.html", context)


@staff_view
@require_GET
def schedule_detail(request, schedule_id: int):
    schedule = selectors.get_schedule(tenant=request.tenant, schedule_id=schedule_id)
    return render(request, "billing/schedule_detail.html", {
        "schedule": schedule, "upcoming": selectors.upcoming(schedule, count=6),
        "lines": [line for line in schedule.lines.select_related("product", "tax_rate")
                  if line.until_period is None or line.until_period >= schedule.next_period],
        "runs": selectors.runs_of(schedule=schedule)[:24], "attempts": selectors.attempts_of(schedule=schedule)[:24],
        "can_manage": request.user.has_perm(ACCOUNTANT),
    })


@staff_view
@require_http_methods(["GET", "POST"])
def schedule_lines(request, schedule_id: int):
    _accountant(request)
    schedule = selectors.get_schedule(tenant=request.tenant, schedule_id=schedule_id)
    current = [{"product": line.product_id, "description": line.description, "quantity": line.quantity.normalize(),
                "unit_price": line.unit_price, "tax_rate": line.tax_rate_id}
               for line in selectors.lines_for(list(schedule.lines.all()), schedule.next_period)]
    lines = forms.line_forms(request.POST or None, tenant=request.tenant, initial=current)
    context = {"schedule": schedule, "lines": lines, "line_errors": []}
    if request.method == "POST":
        typed, readable = forms.lines_of(lines)
        if not readable:
            return render(request, "billing/schedule_lines.html", context, status=422)
        try:
            schedules.change_lines(schedule=schedule, lines=typed, at=timezone.now())
        except ValidationError as error:
            context["line_errors"] = [f"{name}: {message}" for name, msgs in error.message_dict.items()
                                      for message in msgs]
            return render(request, "billing/schedule_lines.html", context, status=422)
        messages.success(request, _("The new lines apply from invoice %(period)s on.") % {
            "period": schedule.next_period})
        return redirect("billing:schedule_detail", schedule.pk)
    return render(request, "billing/schedule_lines.html", context)


def _change(request, schedule_id: int, change, done: str):
    _accountant(request)
    schedule = selectors.get_schedule(tenant=request.tenant, schedule_id=schedule_id)
    try:
        change(schedule=schedule, at=timezone.now())
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done % {"name": schedule.name})
    return redirect("billing:schedule_detail", schedule.pk)


@staff_view
@require_POST
def schedule_pause(request, schedule_id: int):
    return _change(request, schedule_id, schedules.pause, _("“%(name)s” is paused; no invoice is issued until it "
                                                              "is resumed."))


@staff_view
@require_POST
def schedule_resume(request, schedule_id: int):
    return _change(request, schedule_id, schedules.resume, _("“%(name)s” is active again."))


@staff_view
@require_POST
def schedule_end(request, schedule_id: int):
    return _change(request, schedule_id, schedules.end, _("“%(name)s” has ended; no invoice is issued after today."))


@staff_view
@require_POST
def run_post(request, run_id: int):
    _accountant(request)
    run = ScheduleRun.objects.filter(tenant=request.tenant, pk=run_id).first()
    if run is None:
        raise Http404(_("No such recurring invoice."))
    try:
        run = runs.post_run(run=run, actor=request.user, at=timezone.now())
    except (ValidationError, ActionNotAllowed) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, _("Invoice %(number)s is posted and emailed with its pay link.") % {
            "number": run.invoice.number})
    return redirect("billing:schedule_detail", run.schedule_id)


@staff_view
@require_GET
def schedule_list(request):
    today = tenant_today(request.tenant)
    return render(request, "billing/schedule_list.html", {
        "schedules": selectors.schedules_for(tenant=request.tenant).order_by("state", "name", "pk")[:500],
        "upcoming": selectors.upcoming_for(tenant=request.tenant, today=today, days=30), "today": today,
    })


@staff_view
@require_http_methods(["GET", "POST"])
def billing_settings(request):
    require_administrator(request)
    current = selectors.settings_of(tenant=request.tenant)
    initial = {"post_invoices": current.post_invoices, "retry_days": ", ".join(map(str, current.retry_days))}
    form = forms.SettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            days = schedules.parse_retry_days(form.cleaned_data["retry_days"])
        except ValidationError as error:
            show_errors(form, error)
        else:
            schedules.save_settings(tenant=request.tenant, post_invoices=form.cleaned_data["post_invoices"],
                                    retry_days=days)
            messages.success(request, _("Billing settings saved."))
            return redirect("billing:settings")
    status = 422 if form.errors else 200
    return render(request, "billing/settings.html", {"form": form}, status=status)
