"""Account pages and their actions, and the finance panel of the customer file."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.l10n import money as format_money
from core.pagination import page_of
from crm import selectors as crm_selectors
from crm.access import staff_view
from finance import selectors, services
from finance.forms import (
    AccountStateForm,
    OpenAccountForm,
    RefundForm,
    flash_text,
)
from finance.views.common import (
    ACCOUNT_ROWS_PER_PAGE,
    ACCOUNTANT,
    ACCOUNTS_PER_PAGE,
    entry_links,
    form_errors,
    require_accountant,
)

# --- accounts -------------------------------------------------------------------------------------


@staff_view
def account_list(request):
    page = page_of(request, selectors.accounts_for(tenant=request.tenant), ACCOUNTS_PER_PAGE)
    return render(request, "finance/account_list.html", {"page": page})


@staff_view
def account_detail(request, account_id: int):
    account = selectors.get_account(tenant=request.tenant, account_id=account_id)
    can_post = request.user.has_perm(ACCOUNTANT)
    page = page_of(request, selectors.transactions_of_account(account=account), ACCOUNT_ROWS_PER_PAGE)
    return render(request, "finance/account_detail.html", {
        "account": account,
        "open_items": selectors.open_items(account=account),
        "allocations": selectors.allocations_of_account(account=account)[:50],
        "page": page,
        "transitions": selectors.account_transitions(account=account) if can_post else [],
        "refund_form": RefundForm(tenant=request.tenant) if can_post and account.state != "terminated" else None,
        "entry_classifications": entry_links(),
    })


@require_POST
@staff_view
def account_state(request, account_id: int):
    account = selectors.get_account(tenant=request.tenant, account_id=account_id)
    require_accountant(request)
    form = AccountStateForm(request.POST)
    try:
        if not form.is_valid():
            raise form_errors(form)
        changed = services.change_account_state(account=account, action=form.cleaned_data["action"],
                                                actor=request.user, at=timezone.now())
    except ValidationError as error:
        messages.error(request, flash_text(error))
    else:
        messages.success(request, _("The account is %(lower)s.") % {"lower": changed.get_state_display().lower()})
    return redirect("finance:account_detail", account_id=account.pk)


@require_POST
@staff_view
def account_refund(request, account_id: int):
    account = selectors.get_account(tenant=request.tenant, account_id=account_id)
    require_accountant(request)
    form = RefundForm(request.POST, tenant=request.tenant)
    try:
        if not form.is_valid():
            raise form_errors(form)
        result = services.refund(account=account, actor=request.user, at=timezone.now(), **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, flash_text(error))
        return redirect("finance:account_detail", account_id=account.pk)
    refund = result.transaction
    messages.success(request, f"{refund} of {format_money(refund.total_amount, refund.currency)} posted.")
    for warning in result.warnings:
        messages.warning(request, warning)
    return redirect("finance:transaction_detail", transaction_id=refund.pk)


# --- the finance panel of the customer file -------------------------------------------------------


@staff_view
def customer_panel(request, customer_id: int):
    customer = crm_selectors.get_customer(tenant=request.tenant, customer_id=customer_id)
    return render(request, "finance/_customer_panel.html", {
        "customer": customer,
        "accounts": selectors.accounts_of(customer=customer),
        "open_form": OpenAccountForm(tenant=request.tenant),
    })


@require_POST
@staff_view
def account_open(request, customer_id: int):
    customer = crm_selectors.get_customer(tenant=request.tenant, customer_id=customer_id)
    form = OpenAccountForm(request.POST, tenant=request.tenant)
    try:
        if not form.is_valid():
            raise form_errors(form)
        account = services.open_account(customer=customer, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, _("No account was opened. %(flash_text)s") % {"flash_text": flash_text(error)})
        return redirect("crm:customer_detail", customer_id=customer.pk)
    messages.success(request, _("Account “%(account)s” opened.") % {"account": account})
    return redirect("finance:account_detail", account_id=account.pk)
