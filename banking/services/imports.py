"""Importing a statement file: parse it whole, then store its new lines in one transaction.

The bank account's row is locked while its lines are compared and stored, so two imports of one account
(a double click, two clerks, the API and a person) take turns, and each line is stored once whatever file
or format brings it again. Matching and booking happen afterwards, one line per transaction
(``banking.services.matching``), so a file of ten thousand lines never holds one long transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from banking.models import BankAccount, StatementImport, StatementLine
from banking.parsing import ParsedStatement, StatementRefused, parse
from crm.models import ApiKey, Tenant, User
from crm.staff import audit

BOOK_TASK = "banking.book_statement"


@dataclass(frozen=True)
class Upload:
    data: bytes
    file_name: str


def _bank_account_of(tenant: Tenant, statement: ParsedStatement, chosen: BankAccount | None) -> BankAccount:
    if chosen is not None:
        if statement.account_iban and statement.account_iban != chosen.iban:
            raise StatementRefused(_("the file is for the account %(iban)s, not %(chosen)s.") % {
                "iban": statement.account_iban, "chosen": chosen})
        return chosen
    if not statement.account_iban:
        raise StatementRefused(_("the file does not name its account by IBAN: choose the bank account."))
    found = BankAccount.objects.filter(tenant=tenant, iban=statement.account_iban).first()
    if found is None:
        raise StatementRefused(_("the file is for the account %(iban)s, which is not one of your bank accounts.")
                               % {"iban": statement.account_iban})
    return found


def read_statement(*, tenant: Tenant, upload: Upload, bank_account: BankAccount | None) -> tuple[BankAccount,
                                                                                                 ParsedStatement]:
    """Parse and check a file without storing anything.

    :raises StatementRefused: too large, unreadable, for another account, or in another currency.
    """
    limit = settings.DULY_BANK_FILE_MAX_BYTES
    if len(upload.data) > limit:
        raise StatementRefused(_("the file is %(size)s MB; at most %(limit)s MB is accepted.") % {
            "size": round(len(upload.data) / 1_000_000, 1), "limit": limit // 1_000_000})
    if bank_account is None:
        statement = parse(upload.data)
    else:
        statement = parse(upload.data, csv_mapping=bank_account.csv_mapping, currency=bank_account.currency)
    account = _bank_account_of(tenant, statement, bank_account)
    for line in statement.lines:
        if line.currency != account.currency:
            raise StatementRefused(_("the line is in %(currency)s; the bank account %(account)s is in "
                                     "%(account_currency)s.") % {
                "currency": line.currency, "account": account, "account_currency": account.currency}, line.line_no)
    return account, statement


def import_statement(
    *, tenant: Tenant, upload: Upload, bank_account: BankAccount | None, actor: User | None,
    api_key: ApiKey | None = None, at: datetime,
) -> StatementImport:
    """Store a statement's lines that are not stored yet; its credits wait to be matched.

    :raises StatementRefused: the file is refused whole (nothing is stored).
    """
    account, statement = read_statement(tenant=tenant, upload=upload, bank_account=bank_account)
    with transaction.atomic():
        BankAccount.objects.select_for_update().filter(tenant=tenant, pk=account.pk).get()
        identities = [line.identity for line in statement.lines]
        known = set(
            StatementLine.objects.filter(tenant=tenant, bank_account=account, identity__in=identities)
            .values_list("identity", flat=True)
        )
        new, seen = [], set()
        for line in statement.lines:
            if line.identity in known or line.identity in seen:
                continue
            seen.add(line.identity)
            new.append(line)
        record = StatementImport.objects.create(
            tenant=tenant, bank_account=account, format=statement.format, file_name=upload.file_name[:200],
            file_sha256=hashlib.sha256(upload.data).hexdigest(), lines_in_file=len(statement.lines),
            lines_added=len(new), imported_by=actor, api_key=api_key, imported_at=at,
        )
        StatementLine.objects.bulk_create(
            [
                StatementLine(
                    tenant=tenant, bank_account=account, statement_import=record, identity=line.identity,
                    line_no=line.line_no, booked_on=line.booked_on, value_on=line.value_on,
                    direction=line.direction, amount=line.amount, currency=line.currency,
                    bank_reference=line.bank_reference, end_to_end_id=line.end_to_end_id,
                    counterparty_name=line.counterparty_name, counterparty_iban=line.counterparty_iban,
                    remittance=line.remittance, return_reason=line.return_reason,
                )
                for line in new
            ],
            batch_size=1000,
        )
        audit(tenant=tenant, actor=actor, at=at, action="bank.imported", subject=record.file_name,
              detail=_("%(added)s of %(total)s lines new, into %(account)s") % {
                  "added": len(new), "total": len(statement.lines), "account": account})
        if new:
            # robust: a broker that is down must not undo the import; the sweep books the lines later.
            transaction.on_commit(partial(current_app.send_task, BOOK_TASK, kwargs={
                "tenant_id": tenant.pk, "statement_import_id": record.pk}), robust=True)
    return record
