"""Statements of account: staff read one for any period, download it as a PDF and email it; the customer
opens the emailed one by its signed link (no login)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_scopes import scope, scopes_disabled

from core.clock import tenant_today
from crm.access import staff_view
from crm.models import Tenant
from finance import selectors as finance_selectors
from finance.models import Account
from receivables import selectors
from receivables.forms import PeriodForm
from receivables.printing import read_statement_token, statement_response
from receivables.services.statements import check_period, send_statement


def _period(request, tenant) -> tuple:
    """The period the query string asks for, else last month; and its errors, by field."""
    today = tenant_today(tenant)
    start, end = selectors.previous_month(today)
    form = PeriodForm(request.GET or None, initial={"start": start, "end": end})
    if request.GET:
        if not form.is_valid():
            return form, start, end, {field: " ".join(e) for field, e in form.errors.items()}
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    return form, start, end, check_period(start, end, today=today)


def _customer_account(request, account_id) -> Account:
    account = finance_selectors.get_account(tenant=request.tenant, account_id=account_id)
    if account.customer_id is None:
        raise Http404(_("Only a customer's account has a statement."))
    return account


@staff_view
@require_http_methods(["GET"])
def account_statement(request, account_id: int):
    account = _customer_account(request, account_id)
    form, start, end, errors = _period(request, request.tenant)
    if errors:
        for field, text in errors.items():
            messages.error(request, f"{form.fields[field].label}: {text}" if field in form.fields else text)
        return redirect(reverse("receivables:account_statement", args=[account.pk]))
    statement = selectors.statement_of(account=account, start=start, end=end)
    return statement_response(
        request, statement, as_pdf=request.GET.get("format") == "pdf",
        pdf_url=reverse("receivables:account_statement", args=[account.pk]) + f"?start={start}&end={end}&format=pdf",
        back_url=reverse("finance:account_detail", args=[account.pk]))


@staff_view
@require_POST
def account_statement_send(request, account_id: int):
    account = _customer_account(request, account_id)
    form = PeriodForm(request.POST)
    target = reverse("receivables:account_statement", args=[account.pk])
    if not form.is_valid():
        messages.error(request, _("Nothing was sent. Enter the period's first and last day."))
        return redirect(target)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    try:
        send_statement(account=account, start=start, end=end, actor=request.user, at=timezone.now())
    except ValidationError as error:
        messages.error(request, _("Nothing was sent. %(text)s") % {"text": " ".join(error.messages)})
    else:
        messages.success(request, _("The statement was emailed to %(name)s.") % {"name": account.customer.name})
    return redirect(target + f"?start={start}&end={end}")


@never_cache
@require_http_methods(["GET"])
def statement_public(request, token: str):
    """The emailed statement, reached by its signed link alone."""
    found = read_statement_token(token)
    if found is None:
        raise Http404(_("This link is not valid."))
    tenant_id, account_id, start, end = found
    with scopes_disabled():
        tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        raise Http404(_("This link is not valid."))
    with scope(tenant=tenant):
        account = Account.objects.filter(tenant=tenant, pk=account_id, customer__isnull=False).select_related(
            "tenant", "customer").first()
        if account is None:
            raise Http404(_("This link is not valid."))
        statement = selectors.statement_of(account=account, start=start, end=end)
        response = statement_response(request, statement, as_pdf=request.GET.get("format") == "pdf",
                                      pdf_url=reverse("statement_public", args=[token]) + "?format=pdf", public=True)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response
