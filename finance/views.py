"""Staff pages of the ledger: the transactions summary, data entry, the transaction and account
pages with their actions, the finance panel of the customer file, and the settings area.

Every page parses its input, makes one service call and renders. Objects are reached through
``finance.selectors`` (404 alike for "missing" and "another tenant's"); what changes the ledger is
for accountants (``crm.post_transactions``), except drafts and shared notes, which all staff write.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from crm import selectors as crm_selectors
from crm.access import staff_view
from finance import selectors, services
from finance.forms import (
    ENTRY_CLASSIFICATIONS,
    LEDGER_FIELDS,
    AccountStateForm,
    CommunicateForm,
    LedgerDefinitionForm,
    LineFormSet,
    MoveForm,
    NotesForm,
    OpenAccountForm,
    QuickPayForm,
    RefundForm,
    RejectForm,
    TransactionFilterForm,
    TransactionForm,
    apply_errors,
    flash_text,
    line_initial,
    preview_amounts,
    setting_form,
)
from finance.models import (
    WITH_LINES,
    AccountKind,
    Category,
    Classification,
    DueDateRule,
    LedgerDefinition,
    PaymentMethod,
    Product,
    RefundMethod,
    RejectionReason,
    TaxRate,
    TransactionState,
    TransactionType,
)
from notifications import selectors as notification_selectors
from notifications import services as notification_services

ACCOUNTANT = "crm.post_transactions"
TRANSACTIONS_PER_PAGE = 25
ACCOUNTS_PER_PAGE = 25
ACCOUNT_ROWS_PER_PAGE = 25


def _require_accountant(request) -> None:
    if not request.user.has_perm(ACCOUNTANT):
        raise PermissionDenied("Only accountants may do this.")


def _invalid(form) -> ValidationError:
    return ValidationError({name: list(errors) for name, errors in form.errors.items()})


# --- the summary ----------------------------------------------------------------------------------


@staff_view
def transaction_list(request):
    form = TransactionFilterForm(request.GET, tenant=request.tenant)
    rows = selectors.cancelled_flags(selectors.filter_transactions(tenant=request.tenant, filters=form.filters()))
    page = Paginator(rows, TRANSACTIONS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "form": form, "entry_classifications": _entry_links()}
    template = "finance/_transaction_rows.html" if request.htmx else "finance/transaction_list.html"
    return render(request, template, context)


def _entry_links() -> list[tuple[str, str]]:
    return [(c.value, c.label) for c in ENTRY_CLASSIFICATIONS]


# --- data entry -----------------------------------------------------------------------------------


def _line_formset(request, tenant, classification, initial=None):
    if classification not in WITH_LINES:
        return None
    return LineFormSet(request.POST or None, prefix="lines", form_kwargs={"tenant": tenant}, initial=initial)


@staff_view
def transaction_create(request, classification: str):
    if classification not in ENTRY_CLASSIFICATIONS:
        raise Http404("No such classification.")
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
            _require_accountant(request)
        if form.is_valid() and (formset is None or formset.is_valid()):
            line_forms = [f for f in formset if f.is_filled] if formset is not None else []
            values = form.values()
            if formset is not None:
                values["lines"] = [f.line_data() for f in line_forms]
            create = services.create_posted_transaction if post_it else services.create_transaction
            try:
                result = create(account=form.cleaned_data["account"], classification=classification,
                                actor=request.user, at=timezone.now(), notes=form.cleaned_data["notes"], **values)
            except ValidationError as error:
                apply_errors(error, form, line_forms)
            else:
                txn = result.transaction if post_it else result
                messages.success(request, f"{txn} {'posted' if post_it else 'saved as a draft'}.")
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
        messages.error(request, f"{txn} is {txn.get_state_display().lower()}; only a draft can be edited.")
        return redirect("finance:transaction_detail", transaction_id=txn.pk)
    classification = txn.classification
    initial = {
        "type": txn.type_id, "amount": "" if classification in WITH_LINES else txn.total_amount,
        "payment_method": txn.payment_method_id, "refund_method": txn.refund_method_id,
        "external_reference": txn.external_reference, "due_on": txn.due_on, "category": txn.category_id,
        "back_office_code": txn.back_office_code, "targets": [t.pk for t in selectors.targets_of(txn=txn)],
    }
    form = TransactionForm(request.POST or None, tenant=request.tenant, classification=classification,
                           account=txn.account, editing=True, initial=initial)
    formset = _line_formset(request, request.tenant, classification,
                            initial=[line_initial(line) for line in selectors.lines_of(txn=txn)])
    if request.method == "POST" and request.htmx and "preview" in request.POST:
        return _preview(request, formset, txn.currency)
    if request.method == "POST" and form.is_valid() and (formset is None or formset.is_valid()):
        line_forms = [f for f in formset if f.is_filled] if formset is not None else []
        values = form.values()
        if formset is not None:
            values["lines"] = [f.line_data() for f in line_forms]
        try:
            services.update_draft(txn=txn, actor=request.user, at=timezone.now(), **values)
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
        raise Http404("Nothing to preview.")
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
        raise _invalid(form)
    rejected = services.reject_transaction(txn=txn, reason=form.cleaned_data["reason"], actor=request.user, at=at)
    return f"{rejected} rejected: {rejected.rejection_reason}.", []


def _cancel(request, txn, at):
    if txn.classification == Classification.PAYMENT:
        cancellation = services.cancel_payment(payment=txn, actor=request.user, at=at)
    else:
        cancellation = services.cancel_invoice(invoice=txn, actor=request.user, at=at)
    return f"{txn} cancelled by {cancellation}.", []


def _write_off(request, txn, at):
    write_off, _ = services.write_off_invoice(invoice=txn, actor=request.user, at=at)
    return f"{txn} written off by {write_off}.", []


def _quick_pay(request, txn, at):
    form = QuickPayForm(request.POST, tenant=request.tenant)
    if not form.is_valid():
        raise _invalid(form)
    payment = services.quick_pay(invoice=txn, actor=request.user, at=at, **form.cleaned_data)
    return f"{txn} paid by {payment} ({payment.money(payment.total_amount)}).", []


def _move(request, txn, at):
    form = MoveForm(request.POST, txn=txn)
    if not form.is_valid():
        raise _invalid(form)
    moved = services.move_payment(payment=txn, destination=form.cleaned_data["destination"], actor=request.user,
                                  at=at)
    return f"{txn} moved to {moved.account} as {moved}.", []


def _communicate(request, txn, at):
    if txn.account.customer is None:
        raise ValidationError("There is no customer to write to about this transaction.")
    form = CommunicateForm(request.POST, templates=_message_templates(request, txn))
    if not form.is_valid():
        raise _invalid(form)
    data = form.cleaned_data
    sent = notification_services.communicate(
        tenant=request.tenant, actor=request.user, customer=txn.account.customer,
        subject_ref=selectors.subject_ref(txn), channels=data["channels"], at=at, template_key=data["template"],
        subject=data["subject"], message=data["message"], context=selectors.message_context(txn=txn),
        idempotency_key=data["idempotency_key"],
    )
    return f"Message queued to {txn.account.customer.name} ({', '.join(n.channel for n in sent)}).", []


def _amend_notes(request, txn, at):
    form = NotesForm(request.POST)
    if not form.is_valid():
        raise _invalid(form)
    services.amend_notes(txn=txn, text=form.cleaned_data["text"], actor=request.user, at=at)
    return "Shared notes amended.", []


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
        raise Http404("No such action.")
    if handler.accountants_only:
        _require_accountant(request)
    try:
        message, warnings = handler.run(request, txn, timezone.now())
    except ValidationError as error:  # ActionNotAllowed included: the refusal says why
        messages.error(request, flash_text(error))
    else:
        messages.success(request, message)
        for warning in warnings:
            messages.warning(request, warning)
    return redirect("finance:transaction_detail", transaction_id=txn.pk)


# --- accounts -------------------------------------------------------------------------------------


@staff_view
def account_list(request):
    page = Paginator(selectors.accounts_for(tenant=request.tenant), ACCOUNTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "finance/account_list.html", {"page": page})


@staff_view
def account_detail(request, account_id: int):
    account = selectors.get_account(tenant=request.tenant, account_id=account_id)
    can_post = request.user.has_perm(ACCOUNTANT)
    page = Paginator(selectors.transactions_of_account(account=account), ACCOUNT_ROWS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "finance/account_detail.html", {
        "account": account,
        "open_items": selectors.open_items(account=account),
        "allocations": selectors.allocations_of_account(account=account)[:50],
        "page": page,
        "transitions": selectors.account_transitions(account=account) if can_post else [],
        "refund_form": RefundForm(tenant=request.tenant) if can_post and account.state != "terminated" else None,
        "entry_classifications": _entry_links(),
    })


@require_POST
@staff_view
def account_state(request, account_id: int):
    account = selectors.get_account(tenant=request.tenant, account_id=account_id)
    _require_accountant(request)
    form = AccountStateForm(request.POST)
    try:
        if not form.is_valid():
            raise _invalid(form)
        changed = services.change_account_state(account=account, action=form.cleaned_data["action"],
                                                actor=request.user, at=timezone.now())
    except ValidationError as error:
        messages.error(request, flash_text(error))
    else:
        messages.success(request, f"The account is {changed.get_state_display().lower()}.")
    return redirect("finance:account_detail", account_id=account.pk)


@require_POST
@staff_view
def account_refund(request, account_id: int):
    account = selectors.get_account(tenant=request.tenant, account_id=account_id)
    _require_accountant(request)
    form = RefundForm(request.POST, tenant=request.tenant)
    try:
        if not form.is_valid():
            raise _invalid(form)
        result = services.refund(account=account, actor=request.user, at=timezone.now(), **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, flash_text(error))
        return redirect("finance:account_detail", account_id=account.pk)
    refund = result.transaction
    messages.success(request, f"{refund} of {refund.money(refund.total_amount)} posted.")
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
            raise _invalid(form)
        account = services.open_account(customer=customer, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, f"No account was opened. {flash_text(error)}")
        return redirect("crm:customer_detail", customer_id=customer.pk)
    messages.success(request, f"Account “{account}” opened.")
    return redirect("finance:account_detail", account_id=account.pk)


# --- settings ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    model: type
    fields: list[str]
    title: str
    columns: list[str]


SETTINGS = {
    "products": Setting(Product, ["code", "name", "default_tax_rate", "unit_price"], "Products",
                        ["code", "name", "default_tax_rate", "unit_price"]),
    "tax-rates": Setting(TaxRate, ["name", "percent"], "Tax rates", ["name", "percent"]),
    "transaction-types": Setting(
        TransactionType, ["name", "classification", "is_default", "payment_methods", "refund_methods", "categories"],
        "Transaction types", ["name", "classification", "is_default"],
    ),
    "payment-methods": Setting(PaymentMethod, ["name"], "Payment methods", ["name"]),
    "refund-methods": Setting(RefundMethod, ["name"], "Refund methods", ["name"]),
    "categories": Setting(Category, ["name"], "Categories", ["name"]),
    "rejection-reasons": Setting(RejectionReason, ["text"], "Rejection reasons", ["text"]),
    "due-date-rules": Setting(DueDateRule, ["name", "kind", "days", "nth_day", "months", "proximity_days"],
                              "Due-date rules", ["name", "kind", "days", "nth_day", "months", "proximity_days"]),
}


def _setting(entity: str) -> Setting:
    if entity not in SETTINGS:
        raise Http404("No such setting.")
    return SETTINGS[entity]


@staff_view
def settings_index(request):
    _require_accountant(request)
    return render(request, "finance/settings_index.html", {"settings": SETTINGS})


@staff_view
def setting_list(request, entity: str):
    setting = _setting(entity)
    _require_accountant(request)
    rows = setting.model.objects.filter(tenant=request.tenant)
    related = [c for c in setting.columns if setting.model._meta.get_field(c).is_relation]
    if related:
        rows = rows.select_related(*related)
    table = [(row, [_cell(row, column) for column in setting.columns]) for row in rows]
    headers = [setting.model._meta.get_field(c).verbose_name for c in setting.columns]
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
            raise Http404("No such row.")
    _require_accountant(request)
    form = setting_form(setting.model, setting.fields)(request.POST or None, instance=instance,
                                                       tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        values, many = form.split_values()
        try:
            services.save_configuration(tenant=request.tenant, instance=instance, values=values, many=many)
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
    _require_accountant(request)
    definition = services.set_up_ledger(tenant=request.tenant)  # the existing one, or the defaults
    form = LedgerDefinitionForm(request.POST or None, instance=definition, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        values, _ = form.split_values()
        try:
            services.save_configuration(tenant=request.tenant, instance=definition, values=values)
        except ValidationError as error:
            apply_errors(error, form)
        else:
            messages.success(request, "Ledger definition saved.")
            return redirect("finance:settings_index")
    return render(request, "finance/setting_form.html", {
        "form": form, "setting": Setting(LedgerDefinition, LEDGER_FIELDS, "Ledger definition", []),
        "entity": None, "instance": definition,
    })
