"""Obligations, staff side: the customer file's panel, creating (automatic or manual plan), the
obligation's page with its instalments and audit log, editing, marking paid, the calendar and the
tenant's settings. Manager comments appear only for staff with ``crm.see_manager_comments``."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from core.clock import tenant_today
from core.query import query_date, query_int
from crm import selectors as crm_selectors
from crm.access import require_permission, staff_view
from obligations import forms, selectors
from obligations.models import DateRule, PayeeKind
from obligations.services import schedules
from obligations.services.obligations import (
    AUTOMATIC,
    ManualRow,
    add_closing_day,
    create_obligation,
    mark_instalment_paid,
    preview_plan,
    remove_closing_day,
    save_obligation_settings,
    update_instalment,
    update_obligation,
)

MANAGER = "crm.see_manager_comments"


def _errors(error: ValidationError) -> dict[str, str]:
    if hasattr(error, "error_dict"):
        return {("general" if field == "__all__" else field): " ".join(texts)
                for field, texts in error.message_dict.items()}
    return {"general": " ".join(error.messages)}


# --- the customer file's panel ------------------------------------------------------------------------


@staff_view
def obligations_panel(request, customer_id: int):
    customer = crm_selectors.get_customer(tenant=request.tenant, customer_id=customer_id)
    return render(request, "obligations/_obligations_panel.html", {
        "customer": customer, "obligations": selectors.obligations(tenant=request.tenant, customer_id=customer.pk),
    })


# --- creating ---------------------------------------------------------------------------------------


def _remaining(post, rows) -> str:
    try:
        total = schedules.parse_amount(post.get("total_amount", ""), field="total_amount", errors={})
        entered = [schedules.parse_amount(r.amount, field="a", errors={}) for r in rows]
        if total is None or None in entered:
            return ""
        return f"{schedules.manual_remaining(total=total, amounts=entered):.2f}"
    except (TypeError, ValueError):
        return ""


def _create_context(request, customer, *, values=None, errors=None, rows=None, extra_row=False, preview=None):
    values = values or {"currency": request.tenant.default_currency, "plan": AUTOMATIC, "count": "1",
                        "frequency": schedules.MONTHLY, "send_email": "on" if customer.email else ""}
    rows = list(rows or [])
    if extra_row or not rows:
        rows.append(ManualRow(due_on="", amount=""))
    return {
        "customer": customer, "values": values, "errors": errors or {}, "rows": rows,
        "remaining": _remaining(values, [r for r in rows if r.amount]) if hasattr(values, "get") else "",
        "currencies": settings.CURRENCIES, "payee_kinds": PayeeKind.choices, "date_rules": DateRule.choices,
        "frequencies": schedules.FREQUENCIES.items(), "manager": request.user.has_perm(MANAGER),
        "preview": preview,
    }


@staff_view
@require_http_methods(["GET", "POST"])
def obligation_create(request, customer_id: int):
    customer = crm_selectors.get_customer(tenant=request.tenant, customer_id=customer_id)
    if request.method == "GET":
        return render(request, "obligations/obligation_create.html", _create_context(request, customer))
    post = request.POST
    plan = forms.plan(post)
    action = post.get("action", "create")
    if action == "add_row":
        return render(request, "obligations/obligation_create.html",
                      _create_context(request, customer, values=post, rows=plan.rows, extra_row=True))
    data = forms.obligation_data(post, manager=request.user.has_perm(MANAGER))
    try:
        if action == "preview":
            preview = preview_plan(tenant=request.tenant, data=data, plan=plan)
            return render(request, "obligations/obligation_create.html",
                          _create_context(request, customer, values=post, rows=plan.rows, preview=preview))
        obligation = create_obligation(customer=customer, data=data, plan=plan, actor=request.user, at=timezone.now(),
                                       send_email=bool(post.get("send_email")))
    except ValidationError as error:
        return render(request, "obligations/obligation_create.html",
                      _create_context(request, customer, values=post, errors=_errors(error), rows=plan.rows),
                      status=422)
    count = obligation.instalments.count()
    messages.success(request, ngettext("The obligation “%(description)s” was created with %(count)s instalment.",
                                       "The obligation “%(description)s” was created with %(count)s instalments.",
                                       count) % {"description": obligation.description, "count": count})
    return redirect("obligations:obligation_detail", obligation.pk)


# --- the obligation's page ----------------------------------------------------------------------------


@staff_view
def obligation_detail(request, obligation_id: int):
    obligation = selectors.get_obligation(tenant=request.tenant, obligation_id=obligation_id)
    manager = request.user.has_perm(MANAGER)
    return render(request, "obligations/obligation_detail.html", {
        "obligation": obligation, "instalments": list(obligation.instalments.select_related("paid_by",
                                                                                            "ledger_payment")),
        "manager": manager, "history": selectors.obligation_history(obligation=obligation, manager=manager),
        "today": tenant_today(request.tenant),
    })


@staff_view
@require_http_methods(["GET", "POST"])
def obligation_edit(request, obligation_id: int):
    obligation = selectors.get_obligation(tenant=request.tenant, obligation_id=obligation_id)
    manager = request.user.has_perm(MANAGER)
    context = {"obligation": obligation, "manager": manager, "errors": {}, "currencies": settings.CURRENCIES,
               "payee_kinds": PayeeKind.choices, "date_rules": DateRule.choices,
               "values": {field: getattr(obligation, field) for field in forms.FIELDS}
               | {"manager_comments": obligation.manager_comments}}
    if request.method == "GET":
        return render(request, "obligations/obligation_edit.html", context)
    changes = forms.obligation_changes(request.POST, manager=manager)
    try:
        update_obligation(obligation=obligation, changes=changes, actor=request.user, at=timezone.now(),
                                   notify_customer=bool(request.POST.get("notify_customer")))
    except ValidationError as error:
        return render(request, "obligations/obligation_edit.html",
                      context | {"errors": _errors(error), "values": request.POST}, status=422)
    messages.success(request, _("The obligation was saved."))
    return redirect("obligations:obligation_detail", obligation.pk)


@staff_view
@require_http_methods(["GET", "POST"])
def instalment_edit(request, instalment_id: int):
    instalment = selectors.get_instalment(tenant=request.tenant, instalment_id=instalment_id)
    context = {"instalment": instalment, "obligation": instalment.obligation, "errors": {},
               "values": {"amount": f"{instalment.amount:.2f}", "due_on": instalment.due_on.isoformat()}}
    if request.method == "GET":
        return render(request, "obligations/instalment_edit.html", context)
    posted = forms.InstalmentForm.read(request.POST)
    try:
        update_instalment(instalment=instalment, amount=posted["amount"], due_on=posted["due_on"],
                          notify_customer=posted["notify_customer"], actor=request.user, at=timezone.now())
    except ValidationError as error:
        return render(request, "obligations/instalment_edit.html",
                      context | {"errors": _errors(error), "values": request.POST}, status=422)
    messages.success(request, _("Instalment %(number)s was saved.") % {"number": instalment.number})
    return redirect("obligations:obligation_detail", instalment.obligation_id)


@staff_view
@require_POST
def instalment_mark_paid(request, instalment_id: int):
    instalment = selectors.get_instalment(tenant=request.tenant, instalment_id=instalment_id)
    try:
        mark_instalment_paid(instalment=instalment, actor=request.user, at=timezone.now())
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Instalment %(number)s is marked paid (paid outside Duly).") % {
            "number": instalment.number})
    return redirect("obligations:obligation_detail", instalment.obligation_id)


# --- lists and the calendar -----------------------------------------------------------------------------


@staff_view
def obligation_list(request):
    query = request.GET
    customer_id = query_int(query.get("customer"))
    rows = selectors.obligations(tenant=request.tenant, customer_id=customer_id,
                                 due_from=query_date(query.get("from", "")),
                                 due_to=query_date(query.get("to", "")))[:200]
    return render(request, "obligations/obligation_list.html", {
        "obligations": rows, "customer_id": customer_id, "query": query,
    })


@staff_view
def obligation_calendar(request):
    query = request.GET
    today = tenant_today(request.tenant)
    year, month = selectors.month_of(query.get("month", ""), today=today)
    first, last = selectors.month_bounds(year, month)
    status = query.get("status", "") if query.get("status") in selectors.INSTALMENT_STATUSES else ""
    customer_id = query_int(query.get("customer"))
    as_list = query.get("view") == "list"
    filters = selectors.InstalmentFilters(customer=customer_id, status=status,
                                          due_from=None if as_list else first, due_to=None if as_list else last)
    if as_list:
        filters = selectors.InstalmentFilters(customer=customer_id, status=status,
                                              due_from=query_date(query.get("from", "")),
                                              due_to=query_date(query.get("to", "")))
    rows = list(selectors.instalments(tenant=request.tenant, filters=filters, today=today)[:500])
    customer = crm_selectors.get_customer(tenant=request.tenant, customer_id=customer_id) if customer_id else None
    return render(request, "obligations/obligation_calendar.html", {
        "grid": None if as_list else selectors.month_grid(year=year, month=month, rows=rows), "rows": rows,
        "as_list": as_list, "status": status, "statuses": selectors.INSTALMENT_STATUSES.items(),
        "customer": customer, "today": today, "month": f"{year:04d}-{month:02d}",
        "customers": selectors.customers_with_obligations(tenant=request.tenant),
    })


# --- settings ---------------------------------------------------------------------------------------------


@staff_view
@require_http_methods(["GET", "POST"])
def obligation_settings(request):
    require_permission(request, MANAGER, _("Only managers change the obligation settings."))
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            if request.POST.get("action") == "add_closing_day":
                add_closing_day(tenant=request.tenant, **forms.ClosingDayForm.read(request.POST))
                messages.success(request, _("The closing day was added."))
            elif request.POST.get("action") == "remove_closing_day":
                day = selectors.closing_days(tenant=request.tenant).filter(
                    pk=query_int(request.POST.get("closing_day"))).first()
                if day is not None:
                    remove_closing_day(closing_day=day)
                messages.success(request, _("The closing day was removed."))
            else:
                save_obligation_settings(tenant=request.tenant, actor=request.user,
                                         data=forms.settings_data(request.POST))
                messages.success(request, _("The settings were saved."))
            return redirect("obligations:obligation_settings")
        except ValidationError as error:
            errors = _errors(error)
    return render(request, "obligations/obligation_settings.html", {
        "options": selectors.obligation_settings(tenant=request.tenant), "errors": errors,
        "closing_days": selectors.closing_days(tenant=request.tenant), "values": request.POST,
    }, status=422 if errors else 200)
