"""Creating, editing, posting and rejecting financial transactions."""

from __future__ import annotations

from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext as _

from core import tallies
from core.changes import UNCHANGED, given
from core.clock import tenant_today
from core.l10n import money as format_money
from crm.models import Customer, User
from finance import amounts
from finance.exceptions import ActionNotAllowed
from finance.models import (
    WITH_ISSUE_REASON,
    WITH_LINES,
    Account,
    AccountKind,
    AccountState,
    Category,
    Classification,
    FeePayer,
    FinancialTransaction,
    IssueReason,
    LedgerDefinition,
    Lender,
    PaymentMethod,
    Product,
    RefundMethod,
    RejectionReason,
    SharedNote,
    TargetedInvoice,
    TaxRate,
    TransactionEvent,
    TransactionLine,
    TransactionState,
    TransactionType,
    direction_of,
)
from finance.services.accounts import lender_account


@dataclass(frozen=True)
class LineData:
    description: str
    quantity: Decimal | str
    unit_price: Decimal | str
    product: Product | None = None
    discount_percent: Decimal | str | None = None
    discount_amount: Decimal | str | None = None
    tax_rate: TaxRate | None = None
    price_includes_tax: bool = False


@dataclass
class PostingResult:
    transaction: FinancialTransaction
    warnings: list[str] = field(default_factory=list)


def local_date(at: datetime, tenant) -> date:
    """The calendar date of ``at`` in the tenant's time zone: the posting date of the documents."""
    return tenant_today(tenant, at)


def _decimal(value, *, field_name: str, errors: dict, places: int = 2, positive: bool = False) -> Decimal | None:
    try:
        number = amounts.parse_plain(value)
    except amounts.NotAnAmount as refusal:
        errors[field_name] = str(refusal) if refusal.too_large else _("“%(value)s” is not a number.") % {"value": value}
        return None
    if number != number.quantize(Decimal(1).scaleb(-places)):
        errors[field_name] = _("At most %(places)s decimal places.") % {"places": places}
        return None
    if positive and number <= 0:
        errors[field_name] = _("Must be more than zero.")
        return None
    if number < 0:
        errors[field_name] = _("Must not be negative.")
        return None
    return number


def _clean_lines(*, account: Account, lines: Sequence[LineData], errors: dict) -> list[tuple[LineData, dict]]:
    cleaned = []
    for index, line in enumerate(lines):
        prefix = f"lines[{index}]"
        line_errors: dict[str, str] = {}
        quantity = _decimal(line.quantity, field_name=f"{prefix}.quantity", errors=line_errors, places=3, positive=True)
        unit_price = _decimal(line.unit_price, field_name=f"{prefix}.unit_price", errors=line_errors)
        percent = given = None
        if line.discount_percent not in (None, ""):
            percent = _decimal(line.discount_percent, field_name=f"{prefix}.discount_percent", errors=line_errors)
            if percent is not None and percent > 100:
                line_errors[f"{prefix}.discount_percent"] = _("A discount cannot exceed 100 %.")
        if line.discount_amount not in (None, ""):
            given = _decimal(line.discount_amount, field_name=f"{prefix}.discount_amount", errors=line_errors)
        if percent is not None and given is not None:
            line_errors[f"{prefix}.discount_amount"] = _("Give the discount as a percentage or as an amount, not both.")
        if not (line.description or "").strip() and line.product is None:
            line_errors[f"{prefix}.description"] = _("Describe the line or choose a product.")
        for related, value in (("product", line.product), ("tax_rate", line.tax_rate)):
            if value is not None and value.tenant_id != account.tenant_id:
                line_errors[f"{prefix}.{related}"] = (
                    _("Unknown product.") if related == "product" else _("Unknown tax rate."))
        tax_rate = line.tax_rate or (line.product.default_tax_rate if line.product else None)
        if not line_errors:
            try:
                figures = amounts.line_amounts(
                    amounts.LineInput(quantity=quantity, unit_price=unit_price, discount_percent=percent,
                                      discount_amount=given, tax_percent=tax_rate.percent if tax_rate else Decimal(0),
                                      price_includes_tax=line.price_includes_tax),
                    account.currency,
                )
            except ValueError as error:
                line_errors[f"{prefix}.discount_amount"] = str(error)
        if line_errors:
            errors.update(line_errors)
            continue
        cleaned.append((line, {
            "quantity": quantity, "unit_price": unit_price, "discount_percent": percent, "discount_given": given,
            "tax_rate": tax_rate, "tax_percent": tax_rate.percent if tax_rate else Decimal(0),
            "price_includes_tax": line.price_includes_tax,
            "net_amount": figures.net, "discount_amount": figures.discount, "tax_amount": figures.tax,
            "total_amount": figures.total,
        }))
    return cleaned


def _check_account_accepts(account: Account, classification: str) -> None:
    if account.state == AccountState.TERMINATED:
        raise ActionNotAllowed(_("The account %(account)s is terminated; it accepts no new transactions.") % {
            "account": account})
    if account.state == AccountState.SUSPENDED and classification == Classification.INVOICE:
        raise ActionNotAllowed(_("The account %(account)s is suspended; it accepts no new invoices.") % {
            "account": account})


def _due_date_rule(account: Account):
    """The account's own due-date rule, else the tenant's (its ledger definition)."""
    if account.due_date_rule is not None:
        return account.due_date_rule.as_rule()
    definition = LedgerDefinition.objects.select_related("due_date_rule").get(tenant=account.tenant_id)
    return definition.due_date_rule.as_rule()


@dataclass(frozen=True)
class TransactionData:
    """What a transaction says, as a form, the API or another service gives it: checked and computed by
    ``_prepare``. ``lines`` for invoices, credit notes and write-offs; ``amount`` for the others."""

    type: TransactionType | None = None
    lines: Sequence[LineData] = ()
    amount: Decimal | str | None = None
    due_on: date | None = None
    back_office_code: str = ""
    external_reference: str = ""
    payment_method: PaymentMethod | None = None
    refund_method: RefundMethod | None = None
    category: Category | None = None
    issue_reason: IssueReason | None = None
    issue_note: str = ""
    targets: Sequence[FinancialTransaction] = ()
    related: FinancialTransaction | None = None


@dataclass(frozen=True)
class DraftChanges:
    """The fields of a draft to change (``update_draft``); a field left ``UNCHANGED`` keeps its value.
    ``lines`` and ``targets``, when given, replace the old ones."""

    type: TransactionType | None = UNCHANGED
    lines: Sequence[LineData] = UNCHANGED
    amount: Decimal | str | None = UNCHANGED
    due_on: date | None = UNCHANGED
    back_office_code: str = UNCHANGED
    external_reference: str = UNCHANGED
    payment_method: PaymentMethod | None = UNCHANGED
    refund_method: RefundMethod | None = UNCHANGED
    category: Category | None = UNCHANGED
    issue_reason: IssueReason | None = UNCHANGED
    targets: Sequence[FinancialTransaction] = UNCHANGED

    def applied_to(self, data: TransactionData) -> TransactionData:
        return replace(data, **given(self))


@dataclass
class _Prepared:
    fields: dict
    lines: list
    targets: Sequence[FinancialTransaction]


def _type_of(account: Account, classification: str, data: TransactionData, errors: dict) -> TransactionType | None:
    kind = data.type
    if kind is None:
        kind = TransactionType.objects.filter(
            tenant=account.tenant, classification=classification, is_default=True
        ).first()
    if kind is None or kind.tenant_id != account.tenant_id or kind.classification != classification:
        errors["type"] = _("Choose a %(lower)s type.") % {"lower": Classification(classification).label.lower()}
    return kind


def _lines_or_amount(account: Account, classification: str, data: TransactionData, errors: dict):
    """The cleaned lines (with their amounts) or the checked amount, whichever the classification has."""
    if classification in WITH_LINES:
        if not data.lines:
            errors["lines"] = _("At least one line is required.")
        return _clean_lines(account=account, lines=data.lines, errors=errors), None
    if data.amount in (None, ""):
        errors["amount"] = _("The amount is required.")
        return [], None
    return [], _decimal(data.amount, field_name="amount", errors=errors, positive=True)


def _check_methods(classification: str, kind: TransactionType | None, data: TransactionData, errors: dict) -> None:
    if classification == Classification.PAYMENT and data.related is None:
        if data.payment_method is None:
            errors["payment_method"] = _("Choose a payment method.")
        elif kind is not None and not _allowed(kind.payment_methods, data.payment_method):
            errors["payment_method"] = _("“%(payment_method)s” is not a payment method of the type “%(kind)s”.") % {
                "payment_method": data.payment_method, "kind": kind}
    if classification == Classification.REFUND:
        if data.refund_method is None:
            errors["refund_method"] = _("Choose a refund method.")
        elif kind is not None and not _allowed(kind.refund_methods, data.refund_method):
            errors["refund_method"] = _("“%(refund_method)s” is not a refund method of the type “%(kind)s”.") % {
                "refund_method": data.refund_method, "kind": kind}


def _check_fee_payer(account: Account, classification: str, kind: TransactionType | None, errors: dict) -> None:
    """A fee due from a lender or provider goes on a lender's account, and such an account takes nothing else."""
    if classification != Classification.INVOICE or kind is None or errors.get("type"):
        return
    if kind.fee_payer == FeePayer.PROVIDER and account.kind != AccountKind.LENDER:
        errors["lender"] = _("A “%(kind)s” is due from a lender or provider: choose which one.") % {"kind": kind}
    elif kind.fee_payer != FeePayer.PROVIDER and account.kind == AccountKind.LENDER:
        errors["type"] = (_("A lender's or provider's account takes only fees due from a lender or provider; "
                            "“%(kind)s” is not one.") % {"kind": kind})


def _check_reason_and_category(account: Account, classification: str, kind: TransactionType | None,
                               data: TransactionData, errors: dict) -> None:
    if data.issue_reason is not None:
        if data.issue_reason.tenant_id != account.tenant_id:
            errors["issue_reason"] = _("Unknown issue reason.")
        elif classification not in WITH_ISSUE_REASON:
            errors["issue_reason"] = _("Only credit notes, refunds, cancellations and write-offs have an issue reason.")
    if data.category is not None and kind is not None and not _allowed(kind.categories, data.category):
        errors["category"] = _("“%(category)s” is not a category of the type “%(kind)s”.") % {
            "category": data.category, "kind": kind}


def _check_due_date(account: Account, classification: str, data: TransactionData, at: datetime, errors: dict):
    if data.due_on is None:
        return
    if classification != Classification.INVOICE:
        errors["due_on"] = _("Only invoices have a due date.")
    elif message := _due_date_rule(account).check(data.due_on, local_date(at, account.tenant)):
        errors["due_on"] = message


def _check_back_office_code(account: Account, code: str, exclude_pk: int | None, errors: dict) -> None:
    if code and FinancialTransaction.objects.filter(
        tenant=account.tenant, back_office_code=code
    ).exclude(pk=exclude_pk).exists():
        errors["back_office_code"] = _("The back-office code “%(code)s” is already used.") % {"code": code}


def _check_targets(account: Account, classification: str, targets: Sequence[FinancialTransaction],
                   errors: dict) -> None:
    if targets and classification not in (Classification.PAYMENT, Classification.CREDIT_NOTE):
        errors["targets"] = _("Only payments and credit notes can name the invoices they are for.")
    for target in targets:
        if (target.account_id != account.pk or target.classification != Classification.INVOICE
                or target.state != TransactionState.POSTED):
            errors["targets"] = _("%(target)s is not a posted invoice of this account.") % {"target": target}


def _prepare(
    *, account: Account, classification: str, at: datetime, data: TransactionData, exclude_pk: int | None = None,
) -> _Prepared:
    """Validate a transaction's values and compute its amounts; raise ``ValidationError`` naming fields."""
    if classification not in Classification.values:
        raise ValidationError({"classification": _("Unknown classification “%(classification)s”.") % {
            "classification": classification}})
    _check_account_accepts(account, classification)
    errors: dict[str, str] = {}
    kind = _type_of(account, classification, data, errors)
    cleaned_lines, total = _lines_or_amount(account, classification, data, errors)
    _check_methods(classification, kind, data, errors)
    _check_fee_payer(account, classification, kind, errors)
    _check_reason_and_category(account, classification, kind, data, errors)
    _check_due_date(account, classification, data, at, errors)
    back_office_code = (data.back_office_code or "").strip()
    _check_back_office_code(account, back_office_code, exclude_pk, errors)
    _check_targets(account, classification, data.targets, errors)
    if errors:
        raise ValidationError(errors)

    if cleaned_lines:
        figures = amounts.total_amounts(
            (amounts.Amounts(c["net_amount"], c["discount_amount"], c["tax_amount"], c["total_amount"])
             for _, c in cleaned_lines),
            account.currency,
        )
    else:
        figures = amounts.Amounts(net=total, discount=Decimal("0.00"), tax=Decimal("0.00"), total=total)
    row = {
        "type": kind, "back_office_code": back_office_code,
        "external_reference": (data.external_reference or "").strip(), "due_on": data.due_on,
        "payment_method": data.payment_method, "refund_method": data.refund_method, "category": data.category,
        "issue_reason": data.issue_reason, "issue_note": (data.issue_note or "").strip()[:200],
        "related": data.related, "net_amount": figures.net, "discount_amount": figures.discount,
        "tax_amount": figures.tax, "total_amount": figures.total,
    }
    return _Prepared(fields=row, lines=cleaned_lines, targets=data.targets)


def _write_children(txn: FinancialTransaction, prepared: _Prepared) -> None:
    TransactionLine.objects.bulk_create(
        TransactionLine(tenant_id=txn.tenant_id, transaction=txn, position=position, product=line.product,
                        description=(line.description or "").strip() or str(line.product), **values)
        for position, (line, values) in enumerate(prepared.lines, start=1)
    )
    TargetedInvoice.objects.bulk_create(
        TargetedInvoice(tenant_id=txn.tenant_id, credit=txn, invoice=target, position=position)
        for position, target in enumerate(prepared.targets, start=1)
    )


def _fee_account(*, account: Account, classification: str, lender: Lender | None) -> tuple[Account, Customer | None]:
    """Where an invoice naming a ``lender`` is booked: the lender's account in the currency of the
    customer's ``account``, about that customer. Without a lender, ``account`` itself."""
    if lender is None:
        return account, None
    if classification != Classification.INVOICE:
        raise ValidationError({"lender": _("Only a fee (an invoice) can be due from a lender or provider.")})
    if lender.tenant_id != account.tenant_id:
        raise ValidationError({"lender": _("Unknown lender or provider.")})
    if account.kind != AccountKind.CUSTOMER:
        raise ValidationError({"account": _("Choose the account of the customer the fee is about.")})
    return lender_account(lender=lender, currency=account.currency), account.customer


@transaction.atomic
def create_transaction(
    *, account: Account, classification: str, actor: User | None, at: datetime,
    data: TransactionData = TransactionData(), notes: str = "", lender: Lender | None = None,
) -> FinancialTransaction:
    """Create a draft transaction with its lines (invoices, credit notes, write-offs) or its amount.

    ``data.issue_reason`` is one of the tenant's ``IssueReason``; ``data.issue_note`` is what the
    system records about why. An invoice naming a ``lender`` (a fee of a type due from a lender or
    provider) is booked on the lender's account, in the currency of the customer's ``account``, about that customer.

    :raises ActionNotAllowed: the account is terminated (or suspended, for an invoice).
    :raises ValidationError: a field is missing or malformed, named in the error; ``lender`` when a fee
        due from a lender or provider names none (nothing is saved).
    """
    account, for_customer = _fee_account(account=account, classification=classification, lender=lender)
    prepared = _prepare(account=account, classification=classification, at=at, data=data)
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('finance_reference_seq')")
        reference = f"R{cursor.fetchone()[0]}"
    txn = FinancialTransaction.objects.create(
        tenant=account.tenant, account=account, currency=account.currency, classification=classification,
        direction=direction_of(classification), reference_number=reference, issued_at=at, created_by=actor,
        for_customer=for_customer, **prepared.fields,
    )
    _write_children(txn, prepared)
    if notes.strip():
        SharedNote.objects.create(tenant=account.tenant, transaction=txn, text=notes.strip(), author=actor, at=at)
    _event(txn, "create", actor=actor, at=at, to_state=TransactionState.DRAFT)
    return txn


def _allowed(related_manager, item) -> bool:
    """A type that lists no methods (or categories) allows any of the tenant's. (``all()``: a type read
    with its methods prefetched is checked without a query.)"""
    listed = {listed.pk for listed in related_manager.all()}
    return not listed or item.pk in listed


def _event(txn, action, *, actor, at, from_state="", to_state="", detail=""):
    TransactionEvent.objects.create(
        tenant_id=txn.tenant_id, transaction=txn, action=action, from_state=from_state, to_state=to_state,
        actor=actor, at=at, detail=detail[:300],
    )


def _lock_draft(txn: FinancialTransaction) -> FinancialTransaction:
    locked = FinancialTransaction.objects.select_for_update(no_key=True).get(tenant=txn.tenant_id, pk=txn.pk)
    if locked.state != TransactionState.DRAFT:
        raise ActionNotAllowed(_("%(locked)s is %(lower)s; only a draft can change.") % {
            "locked": locked, "lower": locked.get_state_display().lower()})
    return locked


def _data_of(txn: FinancialTransaction) -> TransactionData:
    """What a draft says now, as ``TransactionData``."""
    return TransactionData(
        type=txn.type, due_on=txn.due_on, back_office_code=txn.back_office_code,
        external_reference=txn.external_reference, payment_method=txn.payment_method,
        refund_method=txn.refund_method, category=txn.category, issue_reason=txn.issue_reason,
        issue_note=txn.issue_note, related=txn.related,
        amount=None if txn.classification in WITH_LINES else txn.total_amount,
        targets=[t.invoice for t in txn.targets.select_related("invoice")],
        lines=[
            LineData(description=line.description, quantity=line.quantity, unit_price=line.unit_price,
                     product=line.product, discount_percent=line.discount_percent,
                     discount_amount=line.discount_given, tax_rate=line.tax_rate,
                     price_includes_tax=line.price_includes_tax)
            for line in txn.lines.select_related("product", "tax_rate")
        ],
    )


@transaction.atomic
def update_draft(*, txn: FinancialTransaction, actor: User | None, at: datetime,
                 changes: DraftChanges) -> FinancialTransaction:
    """Edit a draft: the fields ``changes`` gives; the others keep their values. The reference number stays.

    :raises ActionNotAllowed: the transaction is not a draft.
    :raises ValidationError: a field is malformed (nothing is changed).
    """
    locked = _lock_draft(txn)
    prepared = _prepare(
        account=locked.account, classification=locked.classification, at=at, exclude_pk=locked.pk,
        data=changes.applied_to(_data_of(locked)),
    )
    for name, value in prepared.fields.items():
        setattr(locked, name, value)
    locked.save()
    locked.lines.all().delete()
    locked.targets.all().delete()
    _write_children(locked, prepared)
    _event(locked, "edit", actor=actor, at=at, from_state=TransactionState.DRAFT, to_state=TransactionState.DRAFT)
    return locked


POSTING = "SELECT * FROM finance_post(%s, %s, %s, %s, %s, %s, %s)"  # finance/sql/posting_v3.sql


def _invoice_due_on(txn: FinancialTransaction, at: datetime) -> date:
    """An invoice's due date: its own, checked against the account's due-date rule, or the rule's.
    The draft and its account are read unlocked and checked here for the messages' sake; the
    posting function checks them again under its locks."""
    draft = FinancialTransaction.objects.select_related("account__tenant", "account__due_date_rule").get(
        tenant=txn.tenant_id, pk=txn.pk)
    if draft.state != TransactionState.DRAFT:
        raise _not_a_draft(draft, draft.state)
    _check_account_accepts(draft.account, draft.classification)
    rule = _due_date_rule(draft.account)
    posted_on = local_date(at, draft.account.tenant)
    if draft.due_on is None:
        return rule.default(posted_on)
    if message := rule.check(draft.due_on, posted_on):
        raise ValidationError({"due_on": message})
    return draft.due_on


def reallocation_reason(txn: FinancialTransaction) -> str:
    """Why allocations a posting of ``txn`` ends were ended (Against Item & FIFO re-allocates)."""
    return _("re-allocated against %(reference_number)s") % {"reference_number": txn.reference_number}


def _with_number(txn: FinancialTransaction, number: str) -> FinancialTransaction:
    """A copy of ``txn`` with the number the database says it has (for a message)."""
    shown = copy(txn)
    shown.number = number
    return shown


def _not_a_draft(txn: FinancialTransaction, state: str) -> ActionNotAllowed:
    return ActionNotAllowed(_("%(locked)s is %(lower)s; only a draft can change.") % {
        "locked": txn, "lower": TransactionState(state).label.lower()})


def posting_refusal(error: DatabaseError, txn: FinancialTransaction, settle: FinancialTransaction | None) -> Exception:
    """The message a user reads for a refusal of the posting function, or ``error`` itself."""
    cause = error.__cause__
    code, diagnosis = getattr(cause, "sqlstate", None), getattr(cause, "diag", None)
    if code == "DL001":
        return _not_a_draft(_with_number(txn, diagnosis.message_hint or ""), diagnosis.message_detail)
    if code == "DL002":
        account = Account(name=diagnosis.message_hint, state=diagnosis.message_detail)
        try:
            _check_account_accepts(account, txn.classification)
        except ActionNotAllowed as refusal:
            return refusal
    if code == "DL003":
        return ActionNotAllowed(_("A transaction of zero cannot be posted."))
    if code == "DL004":
        return ActionNotAllowed(_("%(txn)s cannot be settled by this transaction.") % {"txn": settle})
    return error


@transaction.atomic
def post_transaction(
    *, txn: FinancialTransaction, actor: User | None, at: datetime, settle: FinancialTransaction | None = None,
    unsettle_reason: str | None = None,
) -> PostingResult:
    """Post a draft: lock its account, set its due date, update the balance, allocate, number it.

    The posting itself is one call of the database's posting function (``finance/sql/posting_v3.sql``);
    this works out an invoice's due date and turns the function's refusals into messages.

    ``settle`` is a transaction of the other direction that this one is allocated to first, whatever
    the tenant's principle: the invoice a quick payment pays, or what a cancellation cancels (its own
    allocations ended first, for ``unsettle_reason``).

    :raises ActionNotAllowed: the transaction is not a draft, its total is zero, or its account refuses it.
    :raises ValidationError: the due date is outside what the account's credit rule allows.
    """
    due_on = _invoice_due_on(txn, at) if txn.classification == Classification.INVOICE else None
    reallocation = reallocation_reason(txn)
    try:
        posted = next(iter(FinancialTransaction.objects.raw(POSTING, [
            txn.pk, getattr(actor, "pk", None), at, due_on, getattr(settle, "pk", None), unsettle_reason,
            reallocation])))
    except DatabaseError as error:
        raise posting_refusal(error, txn, settle) from error
    tallies.add_on_commit("postings", classification=posted.classification)

    warnings = []
    if posted.classification == Classification.REFUND:
        balance, limit = Account.objects.values_list("balance", "credit_limit").get(pk=posted.account_id)
        if balance > limit:
            warnings.append(
                _("This refund takes the balance to %(balance)s, past the credit limit of %(limit)s.") % {
                    "balance": format_money(balance, posted.currency), "limit": format_money(limit, posted.currency)}
            )
    return PostingResult(transaction=posted, warnings=warnings)


@transaction.atomic
def reject_transaction(
    *, txn: FinancialTransaction, reason: RejectionReason | None, actor: User | None, at: datetime
) -> FinancialTransaction:
    """Reject a draft, with one of the tenant's rejection reasons.

    :raises ActionNotAllowed: the transaction is not a draft.
    :raises ValidationError: no reason, or another tenant's.
    """
    if reason is None or reason.tenant_id != txn.tenant_id:
        raise ValidationError({"reason": _("Choose the reason for rejecting it.")})
    locked = _lock_draft(txn)
    locked.mark_rejected(reason=reason)
    locked.save()
    _event(locked, "reject", actor=actor, at=at, from_state=TransactionState.DRAFT,
           to_state=TransactionState.REJECTED, detail=reason.text)
    return locked


@transaction.atomic
def amend_notes(*, txn: FinancialTransaction, text: str, actor: User | None, at: datetime) -> SharedNote:
    """Amend the shared notes; every amendment is kept with its author and time, in any state."""
    if not (text or "").strip():
        raise ValidationError({"notes": _("Write the note.")})
    return SharedNote.objects.create(tenant_id=txn.tenant_id, transaction=txn, text=text.strip(), author=actor, at=at)


@transaction.atomic
def create_posted_transaction(
    *, account: Account, classification: str, actor: User | None, at: datetime,
    data: TransactionData = TransactionData(), notes: str = "", lender: Lender | None = None,
) -> PostingResult:
    """Create a transaction and post it at once ("save and post"): both happen or neither.

    :raises ActionNotAllowed: the account refuses it, or its total is zero.
    :raises ValidationError: as ``create_transaction`` and ``post_transaction`` (nothing is saved).
    """
    draft = create_transaction(account=account, classification=classification, actor=actor, at=at, data=data,
                               notes=notes, lender=lender)
    return post_transaction(txn=draft, actor=actor, at=at)
