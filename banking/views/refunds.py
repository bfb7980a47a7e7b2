"""Refunds of credit balances by bank transfer: the runs, their approval, and the pain.001 file."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banking import selectors
from banking.forms import ApproveRunForm
from banking.models import RunState
from banking.services import refunds
from banking.views.statements import ACCOUNTANT, error_text, require_accountant
from core.clock import tenant_today
from crm.access import staff_view
from finance.exceptions import ActionNotAllowed


@staff_view
def refund_runs(request):
    return render(request, "banking/refund_runs.html", {
        "runs": selectors.refund_runs(tenant=request.tenant),
        "paying_accounts": selectors.bank_accounts(tenant=request.tenant).filter(pays_refunds=True),
        "can_decide": request.user.has_perm(ACCOUNTANT),
    })


@require_POST
@staff_view
def refund_propose(request):
    require_accountant(request)
    try:
        bank_account_id = int(request.POST.get("bank_account", ""))
    except ValueError:
        messages.error(request, _("Choose the bank account the refunds are paid from."))
        return redirect("banking:refund_runs")
    bank_account = selectors.get_bank_account(tenant=request.tenant, bank_account_id=bank_account_id)
    try:
        run = refunds.propose_refunds(bank_account=bank_account, actor=request.user, at=timezone.now())
    except ActionNotAllowed as error:
        messages.error(request, error_text(error))
        return redirect("banking:refund_runs")
    return redirect("banking:refund_run_detail", run_id=run.pk)


def _detail(request, run, form: ApproveRunForm | None, status: int = 200):
    if form is None and run.state == RunState.PROPOSED:
        form = ApproveRunForm(run=run, initial={
            "execution_date": refunds.next_business_day(tenant_today(request.tenant)),
            "transfers": [transfer.pk for transfer in ApproveRunForm(run=run).proposed]})
    return render(request, "banking/refund_run_detail.html", {
        "run": run, "transfers": selectors.transfers_of(run=run), "form": form,
        "can_decide": request.user.has_perm(ACCOUNTANT),
    }, status=status)


@staff_view
def refund_run_detail(request, run_id: int):
    return _detail(request, selectors.get_refund_run(tenant=request.tenant, run_id=run_id), None)


@require_POST
@staff_view
def refund_run_approve(request, run_id: int):
    require_accountant(request)
    run = selectors.get_refund_run(tenant=request.tenant, run_id=run_id)
    form = ApproveRunForm(request.POST, run=run)
    if not form.is_valid():
        return _detail(request, run, form, status=400)
    try:
        refunds.approve_run(run=run, transfer_ids=form.cleaned_data["transfers"],
                            execution_date=form.cleaned_data["execution_date"], actor=request.user,
                            at=timezone.now())
    except (ValidationError, ActionNotAllowed) as error:
        form.add_error(None, error_text(error))
        return _detail(request, run, form, status=400)
    messages.success(request, _("Refunds posted. Download the transfer file and upload it to your bank."))
    return redirect("banking:refund_run_detail", run_id=run.pk)


@staff_view
def refund_file(request, run_id: int):
    require_accountant(request)
    run = selectors.get_refund_run(tenant=request.tenant, run_id=run_id)
    if run.state != RunState.APPROVED:
        messages.error(request, _("The run is not approved yet: it has no transfer file."))
        return redirect("banking:refund_run_detail", run_id=run.pk)
    response = HttpResponse(run.file, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="refunds-{run.message_id}.xml"'
    return response
