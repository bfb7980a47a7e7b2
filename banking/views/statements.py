"""Bank accounts, statement import, the reconciliation list and the decisions on a line."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banking import selectors
from banking.forms import BankAccountForm, SplitForm, StatementImportForm
from banking.models import LineState
from banking.parsing import StatementRefused
from banking.services import decisions
from banking.services.accounts import save_bank_account
from banking.services.imports import Upload, import_statement
from core.pagination import page_of
from crm.access import require_permission, staff_view
from finance.exceptions import ActionNotAllowed
from finance.models import Account

ACCOUNTANT = "crm.post_transactions"
LINES_PER_PAGE = 50


def require_accountant(request) -> None:
    require_permission(request, ACCOUNTANT, _("Only accountants import statements and decide bank lines."))


def error_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


@staff_view
def bank_home(request):
    today = timezone.localdate()
    return render(request, "banking/home.html", {
        "bank_accounts": selectors.bank_accounts(tenant=request.tenant),
        "imports": selectors.recent_imports(tenant=request.tenant),
        "ageing": selectors.suspense_ageing(tenant=request.tenant, today=today),
        "can_decide": request.user.has_perm(ACCOUNTANT),
    })


@staff_view
def bank_account_edit(request, bank_account_id: int | None = None):
    require_accountant(request)
    account = (selectors.get_bank_account(tenant=request.tenant, bank_account_id=bank_account_id)
               if bank_account_id else None)
    initial = BankAccountForm.initial_of(account) if account else {"currency": request.tenant.default_currency}
    form = BankAccountForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = save_bank_account(
                tenant=request.tenant, bank_account=account, name=data["name"], iban=data["iban"], bic=data["bic"],
                currency=data["currency"], csv_mapping=form.csv_mapping(), actor=request.user, at=timezone.now(),
                pays_refunds=data["pays_refunds"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Bank account %(account)s saved.") % {"account": saved})
            return redirect("banking:bank_account_lines", bank_account_id=saved.pk)
    return render(request, "banking/bank_account_form.html", {"form": form, "bank_account": account})


@staff_view
def bank_account_lines(request, bank_account_id: int):
    account = selectors.get_bank_account(tenant=request.tenant, bank_account_id=bank_account_id)
    state = request.GET.get("state", "")
    state = state if state in LineState.values else ""
    lines = selectors.lines_of(tenant=request.tenant, bank_account=account, state=state)
    counts = selectors.state_counts(selectors.lines_of(tenant=request.tenant, bank_account=account))
    return render(request, "banking/bank_account_lines.html", {
        "bank_account": account, "page": page_of(request, lines, LINES_PER_PAGE), "state": state,
        "states": [(key, label, counts.get(key, 0)) for key, label in LineState.choices],
    })


@staff_view
def statement_import(request):
    require_accountant(request)
    form = StatementImportForm(request.POST or None, request.FILES or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            record = import_statement(
                tenant=request.tenant, upload=Upload(data=upload.read(), file_name=upload.name),
                bank_account=form.cleaned_data["bank_account"], actor=request.user, at=timezone.now())
        except StatementRefused as error:
            form.add_error("file", _("Nothing was imported. %(reason)s") % {"reason": error})
        else:
            return redirect("banking:import_detail", import_id=record.pk)
    return render(request, "banking/import_form.html", {"form": form}, status=400 if form.errors else 200)


@staff_view
def import_detail(request, import_id: int):
    record = selectors.get_import(tenant=request.tenant, import_id=import_id)
    lines = selectors.lines_of(tenant=request.tenant, statement_import=record)
    counts = selectors.state_counts(lines)
    return render(request, "banking/import_detail.html", {
        "record": record, "page": page_of(request, lines, LINES_PER_PAGE),
        "states": [(label, counts[key]) for key, label in LineState.choices if counts.get(key)],
        "waiting": counts.get(LineState.NEW, 0),
    })


@staff_view
def reconciliation(request):
    lines = selectors.undecided_lines(tenant=request.tenant)
    return render(request, "banking/reconciliation.html", {
        "page": page_of(request, lines, LINES_PER_PAGE), "can_decide": request.user.has_perm(ACCOUNTANT),
    })


@staff_view
def line_detail(request, line_id: int, split_form: SplitForm | None = None, status: int = 200):
    line = selectors.get_line(tenant=request.tenant, line_id=line_id)
    query = request.GET.get("q", "")
    return render(request, "banking/line_detail.html", {
        "line": line,
        "payments": decisions.payments_of(line),
        "can_decide": request.user.has_perm(ACCOUNTANT) and line.state in (LineState.SUGGESTED, LineState.SUSPENSE),
        "query": query,
        "candidates": selectors.accounts_matching(tenant=request.tenant, query=query, currency=line.currency),
        "split_form": split_form or SplitForm(tenant=request.tenant, currency=line.currency),
    }, status=status)


def _decide(request, line_id: int, decide) -> HttpResponse:
    """Run ``decide(line)`` (which returns the decided line) and say where the money went."""
    require_accountant(request)
    line = selectors.get_line(tenant=request.tenant, line_id=line_id)
    try:
        decided = decide(line)
    except (ValidationError, ActionNotAllowed) as error:
        messages.error(request, error_text(error))
        return redirect("banking:line_detail", line_id=line.pk)
    messages.success(request, _("Booked on %(account)s.") % {"account": decided.payment.account})
    return redirect("banking:reconciliation")


@require_POST
@staff_view
def line_confirm(request, line_id: int):
    return _decide(request, line_id,
                   lambda line: decisions.confirm_suggestion(line=line, actor=request.user, at=timezone.now()))


@require_POST
@staff_view
def line_move(request, line_id: int):
    def move(line):
        try:
            account = Account.objects.get(tenant=request.tenant, pk=int(request.POST.get("account", "")))
        except (Account.DoesNotExist, ValueError):
            raise ValidationError({"account": _("Choose an account from the list.")}) from None
        return decisions.move_to_account(line=line, account=account, actor=request.user, at=timezone.now())

    return _decide(request, line_id, move)


@require_POST
@staff_view
def line_split(request, line_id: int):
    require_accountant(request)
    line = selectors.get_line(tenant=request.tenant, line_id=line_id)
    form = SplitForm(request.POST, tenant=request.tenant, currency=line.currency)
    if not form.is_valid():
        return line_detail(request, line_id, split_form=form, status=400)
    try:
        decided = decisions.split_across_invoices(line=line, parts=form.cleaned_data["parts"], actor=request.user,
                                                  at=timezone.now())
    except (ValidationError, ActionNotAllowed) as error:
        form.add_error(None, error_text(error))
        return line_detail(request, line_id, split_form=form, status=400)
    messages.success(request, _("Split across %(count)s invoices.") % {"count": len(form.cleaned_data["parts"])})
    return redirect("banking:line_detail", line_id=decided.pk)
