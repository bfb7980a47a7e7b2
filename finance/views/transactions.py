"""The transactions summary, data entry, and the transaction page with its actions."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.l10n import money as format_money
from core.pagination import capped_page
from crm.access import staff_view
from finance import selectors, services
from finance.forms import (
    CommunicateForm,
    IssueForm,
    LineFormSet,
    MoveForm,
    NotesForm,
    QuickPayForm,
    RejectForm,
    TransactionFilterForm,
    TransactionForm,
    apply_errors,
    flash_text,
    line_initial,
    preview_amounts,
)
from finance.models import (
    CANCELLATION_OF,
    ENTRY_CLASSIFICATIONS,
    WITH_LINES,
    AccountKind,
    Classification,
    TransactionState,
)
from finance.views.common import ACCOUNTANT, TRANSACTIONS_PER_PAGE, entry_links, form_errors, require_accountant
from notifications import selectors as notification_selectors
from notifications import services as notification_services

# --- the summary ----------------------------------------------------------------------------------


@staff_view
def transaction_list(request):
    # One database transaction for the page, so row-level security sets its role and tenant once
    # (core.rls) rather than around each query.
    with transaction.atomic(savepoint=False):
        form = TransactionFilterForm(request.GET, tenant=request.tenant)
        if not request.htmx:  # the rows alone do not show the filters
            form.offer_plain_choices()
        rows = selectors.cancelled_flags(selectors.filter_transactions(tenant=request.tenant, filters=form.filters()))
        page = capped_page(request, rows, TRANSACTIONS_PER_PAGE)
        context = {"page": page, "form": form, "entry_classifications": entry_links()}
        template = "finance/_transaction_rows.html" if request.htmx else "finance/transaction_list.html"
        return render(request, template, context)


# --- data entry -----------------------------------------------------------------------------------


def _line_formset(request, tenant, classification, initial=None):
    if classification not in WITH_LINES:
        return None
    return LineFormSet(request.POST or None, prefix="lines", form_kwargs={"tenant": tenant}, initial=initial)


@staff_view
def transaction_create(request, classification: str):
    if classification not in ENTRY_CLASSIFICATIONS:
        raise Http404(_("No such classification."))
    account = None
    if request.GET.get("account"):
        account = selectors.get_account(tenant=request.tenant, account_id=request.GET["account"])
    form = TransactionForm(request.POST or None, tenant=request.tenant, classification=classification,
                           account=account, initial={"account": account})
    formset = _line_formset(request, request.tenant, classification)
    if request.method == "POST" and request.htmx and "preview" in request.POST:
        chosen = form.cleaned_data.get("account") if form.is_valid() else account
        return _preview(request, formset, chosen.currency if chosen else request.tenant.default_currency)
    if request.method == "POST":
        post_it = "save_and_post" in request.POST
        if post_it:
            require_accountant(request)
        if form.is_valid() and (formset is None or formset.is_valid()):
            line_forms = [f for f in formset if f.is_filled] if formset is not None else []
            lines = [f.line_data() for f in line_forms] if formset is not None else None
            create = services.create_posted_transaction if post_it else services.create_transaction
            try:
                result = create(account=form.cleaned_data["account"], classification=classification,
                                actor=request.user, at=timezone.now(), notes=form.cleaned_data["notes"],
                                lender=form.cleaned_data.get("lender"), data=form.transaction_data(lines=lines))
            except ValidationError as error:
                apply_errors(error, form, line_forms)
            else:
                txn = result.transaction if post_it else result
                done = _("%(transaction)s posted.") if post_it else _("%(transaction)s saved as a draft.")
                messages.success(request, done % {"transaction": txn})
                for warning in getattr(result, "warnings", []):
                    messages.warning(request, warning)
                return redirect("finance:transaction_detail", transaction_id=txn.pk)
    return render(request, "finance/transaction_form.html", {
        "form": form, "formset": formset, "classification": Classification(classification), "txn": None,
        "account": account, "can_post": request.user.has_perm(ACCOUNTANT),
    })


@staff_view
def transaction_update(request, transaction_id: int):
    txn = selectors.get_transaction(tenant=request.tenant, transaction_id=transaction_id)
    if txn.state != TransactionState.DRAFT:
        messages.error(request, _("%(txn)s is %(lower)s; only a draft can be edited.") % {
            "txn": txn, "lower": txn.get_state_display().lower()})
        return redirect("finance:transaction_detail", transaction_id=txn.pk)
    classification = txn.classification
    initial = {
        "type": txn.type_id, "amount": "" if classification in WITH_LINES else txn.total_amount,
        "payment_method": txn.payment_method_id, "refund_method": txn.refund_method_id,
        "external_reference": txn.external_reference, "due_on": txn.due_on, "category": txn.category_id,
        "back_office_code": txn.back_office_code, "targets": [t.pk for t in selectors.targets_of(txn=txn)],
        "issue_reason": txn.issue_reason_id,
    }
    form = TransactionForm(request.POST or None, tenant=request.tenant, classification=classification,
                           account=txn.account, editing=True, initial=initial)
    formset = _line_formset(request, request.tenant, classification,
                            initial=[line_initial(line) for line in selectors.lines_of(txn=txn)])
    if request.method == "POST" and request.htmx and "preview" in request.POST:
        return _preview(request, formset, txn.currency)
    if request.method == "POST" and form.is_valid() and (formset is None or formset.is_valid()):
        line_forms = [f for f in formset if f.is_filled] if formset is not None else []
        lines = [f.line_data() for f in line_forms] if formset is not None else None
        try:
            services.update_draft(txn=txn, actor=request.user, at=timezone.now(),
                                  changes=form.draft_changes(lines=lines))
        except ValidationError as error:
            apply_errors(error, form, line_forms)
        else:
            messages.success(request, f"{txn} saved.")
            return redirect("finance:transaction_detail", transaction_id=txn.pk)
    return render(request, "finance/transaction_form.html", {
        "form": form, "formset": formset, "classification": Classification(classification), "txn": txn,
        "account": txn.account, "can_post": False,
    })


def _preview(request, formset, currency: str):
    """The amounts of the lines typed so far (an htmx fragment of the data-entry page; saves nothing)."""
    if formset is None or not formset.is_valid():
        raise Http404(_("Nothing to preview."))
    return render(request, "finance/_amounts.html", preview_amounts([f for f in formset if f.is_filled], currency))


# --- the transaction page and its actions ------------------------------------------------------------


@staff_view
def transaction_detail(request, transaction_id: int):
    txn = selectors.get_transaction(tenant=request.tenant, transaction_id=transaction_id)
    can_post = request.user.has_perm(ACCOUNTANT)
    actions = [a for a in selectors.allowed_actions(txn=txn) if can_post or a not in selectors.ACCOUNTANT_ACTIONS]
    if "move" in actions:
        # The suspense account is created on first use, so that it can be chosen.
        services.system_account(tenant=request.tenant, kind=AccountKind.SUSPENSE, currency=txn.currency)
    customer = txn.account.customer
    if customer is None and "communicate" in actions:
        actions.remove("communicate")  # a system account has nobody to write to
    notes = list(selectors.notes_of(txn=txn))
    return render(request, "finance/transaction_detail.html", {
        "txn": txn,
        "printable": txn.classification in selectors.PRINTABLE,
        "lines": selectors.lines_of(txn=txn),
        "allocations": selectors.allocations_of(txn=txn),
        "events": selectors.events_of(txn=txn),
        "targets": selectors.targets_of(txn=txn),
        "notes": notes,
        "note": notes[-1] if notes else None,
        "actions": actions,
        "reject_form": RejectForm(tenant=request.tenant) if "reject" in actions else None,
        "quick_pay_form": QuickPayForm(tenant=request.tenant) if "quick_pay" in actions else None,
        "move_form": MoveForm(txn=txn) if "move" in actions else None,
        "cancel_form": (IssueForm(tenant=request.tenant, classification=CANCELLATION_OF[txn.classification],
                                  auto_id="cancel_%s")
                        if "cancel" in actions else None),
        "write_off_form": (IssueForm(tenant=request.tenant, classification=Classification.WRITE_OFF,
                                     auto_id="write_off_%s")
                           if "write_off" in actions else None),
        "notes_form": NotesForm(initial={"text": notes[-1].text if notes else ""}),
        "communicate_form": (CommunicateForm(templates=_message_templates(request, txn))
                             if "communicate" in actions else None),
        "sent": (notification_selectors.sent_for(tenant=request.tenant, subject_ref=selectors.subject_ref(txn))[:10]
                 if "communicate" in actions else []),
    })


def _message_templates(request, txn) -> list:
    return notification_selectors.available_messages(
        tenant=request.tenant, language=txn.account.customer.language,
        provided=[*selectors.BASE_MESSAGE_TAGS, *selectors.message_context(txn=txn)],
    )


def _post(request, txn, at):
    result = services.post_transaction(txn=txn, actor=request.user, at=at)
    return f"{result.transaction} posted.", result.warnings


def _reject(request, txn, at):
    form = RejectForm(request.POST, tenant=request.tenant)
    if not form.is_valid():
        raise form_errors(form)
    rejected = services.reject_transaction(txn=txn, reason=form.cleaned_data["reason"], actor=request.user, at=at)
    return f"{rejected} rejected: {rejected.rejection_reason}.", []


def _cancel(request, txn, at):
    # Anything but a payment goes to ``cancel_invoice``, which says what can be cancelled.
    classification = CANCELLATION_OF.get(txn.classification, Classification.INVOICE_CANCELLATION)
    form = IssueForm(request.POST, tenant=request.tenant, classification=classification)
    if not form.is_valid():
        raise ValidationError(flash_text(form_errors(form), form))  # named by label: the page has several forms
    if txn.classification == Classification.PAYMENT:
        cancellation = services.cancel_payment(payment=txn, actor=request.user, at=at, **form.cleaned_data)
    else:
        cancellation = services.cancel_invoice(invoice=txn, actor=request.user, at=at, **form.cleaned_data)
    return _("%(txn)s cancelled by %(cancellation)s.") % {"txn": txn, "cancellation": cancellation}, []


def _write_off(request, txn, at):
    form = IssueForm(request.POST, tenant=request.tenant, classification=Classification.WRITE_OFF)
    if not form.is_valid():
        raise ValidationError(flash_text(form_errors(form), form))
    write_off, _warnings = services.write_off_invoice(invoice=txn, actor=request.user, at=at, **form.cleaned_data)
    return _("%(txn)s written off by %(write_off)s.") % {"txn": txn, "write_off": write_off}, []


def _quick_pay(request, txn, at):
    form = QuickPayForm(request.POST, tenant=request.tenant)
    if not form.is_valid():
        raise form_errors(form)
    payment = services.quick_pay(invoice=txn, actor=request.user, at=at, **form.cleaned_data)
    return _("%(txn)s paid by %(payment)s (%(format_money)s).") % {
        "txn": txn, "payment": payment, "format_money": format_money(payment.total_amount, payment.currency)}, []


def _move(request, txn, at):
    form = MoveForm(request.POST, txn=txn)
    if not form.is_valid():
        raise form_errors(form)
    moved = services.move_payment(payment=txn, destination=form.cleaned_data["destination"], actor=request.user,
                                  at=at)
    return _("%(txn)s moved to %(account)s as %(moved)s.") % {"txn": txn, "account": moved.account, "moved": moved}, []


def _communicate(request, txn, at):
    if txn.account.customer is None:
        raise ValidationError(_("There is no customer to write to about this transaction."))
    form = CommunicateForm(request.POST, templates=_message_templates(request, txn))
    if not form.is_valid():
        raise form_errors(form)
    data = form.cleaned_data
    sent = notification_services.communicate(
        tenant=request.tenant, actor=request.user, customer=txn.account.customer,
        subject_ref=selectors.subject_ref(txn), channels=data["channels"], at=at, template_key=data["template"],
        subject=data["subject"], message=data["message"], context=selectors.message_context(txn=txn),
        idempotency_key=data["idempotency_key"],
    )
    return _("Message queued to %(name)s (%(join)s).") % {
        "name": txn.account.customer.name, "join": ', '.join(n.channel for n in sent)}, []


def _amend_notes(request, txn, at):
    form = NotesForm(request.POST)
    if not form.is_valid():
        raise form_errors(form)
    services.amend_notes(txn=txn, text=form.cleaned_data["text"], actor=request.user, at=at)
    return _("Shared notes amended."), []


@dataclass(frozen=True)
class _Action:
    run: object
    accountants_only: bool = True


TRANSACTION_ACTIONS = {
    "post": _Action(_post),
    "reject": _Action(_reject),
    "cancel": _Action(_cancel),
    "write_off": _Action(_write_off),
    "quick_pay": _Action(_quick_pay),
    "move": _Action(_move),
    "notes": _Action(_amend_notes, accountants_only=False),
    "communicate": _Action(_communicate, accountants_only=False),
}


@require_POST
@staff_view
def transaction_action(request, transaction_id: int, action: str):
    txn = selectors.get_transaction(tenant=request.tenant, transaction_id=transaction_id)
    handler = TRANSACTION_ACTIONS.get(action)
    if handler is None:
        raise Http404(_("No such action."))
    if handler.accountants_only:
        require_accountant(request)
    try:
        message, warnings = handler.run(request, txn, timezone.now())
    except ValidationError as error:  # ActionNotAllowed included: the refusal says why
        messages.error(request, flash_text(error))
    else:
        messages.success(request, message)
        for warning in warnings:
            messages.warning(request, warning)
    return redirect("finance:transaction_detail", transaction_id=txn.pk)
