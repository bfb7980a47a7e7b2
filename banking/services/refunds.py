"""Refunding credit balances by bank transfer (seed 004, scenario 1).

A run proposes, for every customer account in the bank account's currency whose balance is in the
customer's favour, a refund of that balance; accounts whose customer has no IBAN are listed apart. On
approval, in one transaction, each chosen refund is posted to the ledger (method "Bank transfer", the
transfer's end-to-end id as its external reference) and the SEPA credit-transfer order (pain.001.001.03,
written and checked against its schema by ``sepaxml``) is stored on the run for the clerk to upload.

The bank's statement then tells what happened (``banking.services.matching``): a debit carrying a
transfer's end-to-end id confirms it; a credit carrying it is the transfer coming back, booked as a payment
on the customer's account, which undoes the refund's effect on the balance.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from sepaxml import SepaTransfer

from banking.models import REFUND_END_TO_END_PREFIX, BankAccount, RefundRun, RefundTransfer, RunState, TransferState
from core import l10n
from core.clock import tenant_today
from crm.models import Tenant, User
from crm.staff import audit
from finance import services as ledger
from finance.exceptions import ActionNotAllowed
from finance.models import Account, AccountKind, AccountState, RefundMethod

SEPA_CURRENCY = "EUR"
PAIN = "pain.001.001.03"


def _refusal_for(bank_account: BankAccount) -> str:
    if not bank_account.pays_refunds:
        return _("Refunds are not paid from %(account)s: tick “Refunds are paid from this account” on it first.") % {
            "account": bank_account}
    if bank_account.currency != SEPA_CURRENCY:
        return _("SEPA transfers are in euros; %(account)s is in %(currency)s.") % {
            "account": bank_account, "currency": bank_account.currency}
    return ""


def next_business_day(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@transaction.atomic
def propose_refunds(*, bank_account: BankAccount, actor: User | None, at: datetime, period: str = "") -> RefundRun:
    """A run proposing a refund for each account in credit. ``period`` (``YYYY-MM``) marks beat's monthly run,
    made once a month however often beat asks. A run already proposed for the bank account is returned as
    it is (one at a time: two would propose the same balances twice).

    :raises ActionNotAllowed: the bank account does not pay refunds, or not in euros.
    """
    if refusal := _refusal_for(bank_account):
        raise ActionNotAllowed(refusal)
    tenant = bank_account.tenant
    runs = RefundRun.objects.filter(tenant=tenant, bank_account=bank_account)
    found = runs.filter(state=RunState.PROPOSED).first() or (runs.filter(period=period).first() if period else None)
    if found is not None:
        return found
    try:
        with transaction.atomic():
            run = RefundRun.objects.create(tenant=tenant, bank_account=bank_account, period=period, created_at=at,
                                           created_by=actor)
    except IntegrityError:  # a concurrent request or beat made it first
        return RefundRun.objects.get(tenant=tenant, bank_account=bank_account, state=RunState.PROPOSED)
    in_credit = (Account.objects.filter(tenant=tenant, kind=AccountKind.CUSTOMER, currency=bank_account.currency,
                                        balance__lt=0)
                 .exclude(state=AccountState.TERMINATED).select_related("customer").order_by("customer__name", "id"))
    RefundTransfer.objects.bulk_create([
        RefundTransfer(tenant=tenant, run=run, account=account, amount=-account.balance, currency=account.currency,
                       name=account.customer.name[:140], iban=account.customer.iban,
                       state=TransferState.PROPOSED if account.customer.iban else TransferState.NO_IBAN)
        for account in in_credit
    ])
    audit(tenant=tenant, actor=actor, at=at, action="bank.refunds_proposed", subject=str(run),
          detail=_("%(count)s accounts in credit") % {"count": len(in_credit)})
    return run


def _refund_method(tenant: Tenant) -> RefundMethod:
    with l10n.for_tenant(tenant):
        name = _("Bank transfer")
    method, _created = RefundMethod.objects.get_or_create(tenant=tenant, name=name)
    return method


def _pain001(run: RefundRun, transfers: list[RefundTransfer], execution_date: date) -> tuple[str, str]:
    """The pain.001 document and its message id; ``sepaxml`` checks it against the schema."""
    bank_account, tenant = run.bank_account, run.tenant
    debtor = {"name": tenant.name[:70], "IBAN": bank_account.iban, "batch": True, "currency": SEPA_CURRENCY}
    if bank_account.bic:
        debtor["BIC"] = bank_account.bic
    sepa = SepaTransfer(debtor, clean=True, schema=PAIN)
    with l10n.for_tenant(tenant):
        description = _("Refund of your credit balance with %(tenant)s") % {"tenant": tenant.name}
    for transfer in transfers:
        sepa.add_payment({
            "name": transfer.name[:70], "IBAN": transfer.iban, "amount": int(transfer.amount * 100),
            "execution_date": execution_date, "description": description[:140],
            "endtoend_id": transfer.end_to_end_id,
        })
    return sepa.export(validate=True, pretty_print=True).decode(), sepa.msg_id


@transaction.atomic
def approve_run(*, run: RefundRun, transfer_ids: Collection[int], execution_date: date, actor: User | None,
                at: datetime) -> RefundRun:
    """Post the chosen refunds and write the transfer file; the others are left out. A balance that shrank
    since the proposal is refunded as it is now; one no longer in credit is left out.

    :raises ValidationError: no transfer chosen, or an execution date before tomorrow.
    :raises ActionNotAllowed: the run is approved already.
    """
    run = RefundRun.objects.select_for_update().select_related("bank_account", "tenant").get(tenant=run.tenant_id,
                                                                                               pk=run.pk)
    if run.state != RunState.PROPOSED:
        raise ActionNotAllowed(_("This run was approved already."))
    if execution_date <= tenant_today(run.tenant, at):
        raise ValidationError({"execution_date": _("Choose a day after today.")})
    proposed = list(run.transfers.filter(state=TransferState.PROPOSED).order_by("account_id"))
    chosen = [transfer for transfer in proposed if transfer.pk in set(transfer_ids)]
    if not chosen:
        raise ValidationError({"transfers": _("Choose at least one refund.")})
    method = _refund_method(run.tenant)
    sent = []
    for transfer in proposed:
        if transfer not in chosen:
            transfer.state = TransferState.LEFT_OUT
            transfer.save(update_fields=["state"])
            continue
        account = Account.objects.select_for_update().get(tenant=run.tenant_id, pk=transfer.account_id)
        if account.balance >= 0 or account.state == AccountState.TERMINATED:
            transfer.state = TransferState.LEFT_OUT
            transfer.save(update_fields=["state"])
            continue
        transfer.amount = min(transfer.amount, -account.balance)
        transfer.end_to_end_id = f"{REFUND_END_TO_END_PREFIX}{transfer.pk}"
        transfer.refund = ledger.refund(
            account=account, amount=transfer.amount, refund_method=method, actor=actor, at=at,
            external_reference=transfer.end_to_end_id,
            issue_note=_("Bank transfer to %(iban)s") % {"iban": transfer.iban},
        ).transaction
        transfer.state = TransferState.SENT
        transfer.save(update_fields=["amount", "end_to_end_id", "refund", "state"])
        sent.append(transfer)
    if not sent:
        raise ValidationError({"transfers": _("None of the chosen accounts is in credit any more.")})
    run.file, run.message_id = _pain001(run, sent, execution_date)
    run.state, run.approved_at, run.approved_by, run.execution_date = RunState.APPROVED, at, actor, execution_date
    run.save(update_fields=["file", "message_id", "state", "approved_at", "approved_by", "execution_date"])
    audit(tenant=run.tenant, actor=actor, at=at, action="bank.refunds_approved", subject=str(run),
          detail=_("%(count)s transfers, %(total)s") % {
              "count": len(sent), "total": l10n.money(sum(t.amount for t in sent), run.bank_account.currency)})
    return run


def propose_monthly(*, tenant: Tenant, at: datetime) -> list[RefundRun]:
    """Beat: this month's run for each of the tenant's bank accounts that pay refunds, once a month."""
    runs = []
    for bank_account in BankAccount.objects.filter(tenant=tenant, pays_refunds=True, currency=SEPA_CURRENCY):
        period = f"{tenant_today(tenant, at):%Y-%m}"
        if not RefundRun.objects.filter(tenant=tenant, bank_account=bank_account, period=period).exists():
            runs.append(propose_refunds(bank_account=bank_account, actor=None, at=at, period=period))
    return runs
