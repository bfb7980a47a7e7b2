"""The webhook inbox: every delivery is verified, stored and answered at once; a task processes it.

A stored delivery wakes a batch task of its tenant, which claims the tenant's waiting deliveries one by
one (docs/payments.md, "Webhooks"); the sweep and support's replay enqueue one delivery's task.
Processing belongs to ``payments`` (it settles what a payment was for), which this app must not
import; the tasks are enqueued by their stable names instead.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import current_app
from django.db import connection, transaction
from django.db.models import Field, Q

from core import logs, tallies, wakeups
from gateways import registry, secrets
from gateways.base import InvalidWebhookSignature, WebhookEvent
from gateways.models import GatewayAccount, WebhookDelivery, WebhookOutcome

logger = logging.getLogger(__name__)
PROCESS_TASK = "payments.process_webhook_delivery"
BATCH_TASK = "payments.process_webhook_batch"
MAX_BODY_BYTES = 256 * 1024
# A delivery claimed once this long ago and still not processed was lost with its worker: longer than a
# delivery's retries take (about 40 minutes), so the sweep only adds what was really lost.
STALLED_AFTER = timedelta(hours=2)
KEPT_HEADERS = ("content-type", "user-agent", "stripe-signature", "x-credicorp-signature", "x-credicorp-timestamp",
                "x-sandbox-signature", "x-sandbox-timestamp")


@dataclass(frozen=True)
class Received:
    delivery: WebhookDelivery
    duplicate: bool


def _kept(headers: Mapping[str, str]) -> dict[str, str]:
    lowered = {key.lower(): value for key, value in headers.items()}
    return {key: _storable(lowered[key]) for key in KEPT_HEADERS if key in lowered}


def _body_text(body: bytes) -> str:
    return _storable(body.decode("utf-8", errors="replace"))


def _storable(text: str) -> str:
    # PostgreSQL stores no NUL character (in text or jsonb); a body or header carrying one is never a
    # verifiable event (JSON refuses it), but its refusal must still be kept rather than answered 500.
    return text.replace("\x00", "\ufffd")


class StaleAccount(Exception):
    """A remembered copy of an account could not settle a delivery by itself. Nothing was stored or
    enqueued: read the account again and receive the delivery with that."""


def receive_webhook(
    *, account: GatewayAccount, headers: Mapping[str, str], body: bytes, at: datetime, remembered: bool = False
) -> Received:
    """Verify a delivery for ``account`` and store it, once per provider and event id; enqueue its
    processing after commit. A duplicate is answered like the first and changes nothing.

    ``remembered``: ``account`` is a copy an earlier request read (``gateways.webhooks`` keeps them).
    The delivery is then stored only if the account's row still holds what the copy holds, checked by
    the same statement that stores it: an account disabled, given a new secret or new settings since
    stores nothing.

    :raises InvalidWebhookSignature: a bad, missing or stale signature, or not the provider's event;
        the refusal is stored (outcome "rejected") for support to see.
    :raises StaleAccount: for a remembered account, whenever the answer needs the account's row: its
        secret does not decrypt (the keys were rotated) or the signature does not verify (the secret
        may have changed), or nothing was stored (the account changed, or the delivery is a duplicate).
    """
    logs.add(tenant_id=account.tenant_id)
    try:
        gateway = registry.gateway_for(account=account)
    except secrets.InvalidToken as error:  # the copy's secret, encrypted with a key since dropped
        if remembered:
            raise StaleAccount from error
        raise
    try:
        event: WebhookEvent = gateway.parse_webhook(headers=headers, body=body, now=at)
    except InvalidWebhookSignature as error:
        if remembered:
            raise StaleAccount from error
        logger.warning("Refused a %s webhook for tenant %s: %s", account.provider, account.tenant_id, error)
        WebhookDelivery.objects.create(  # its own transaction: the refusal is kept
            provider=account.provider, tenant_id=account.tenant_id, gateway_account=account,
            event_id=f"rejected:{uuid.uuid4()}",
            headers=_kept(headers), body=_body_text(body)[:MAX_BODY_BYTES], received_at=at,
            outcome=WebhookOutcome.REJECTED, detail=str(error),
        )
        raise
    delivery = WebhookDelivery(
        provider=account.provider, tenant_id=account.tenant_id, gateway_account=account, event_id=event.event_id,
        event_type=event.event_type, headers=_kept(headers), body=_body_text(body), received_at=at,
    )
    if not _insert_once(delivery, as_read=account if remembered else None):
        if remembered:
            raise StaleAccount
        existing = WebhookDelivery.objects.get(
            tenant_id=account.tenant_id, provider=account.provider, event_id=event.event_id
        )
        return Received(delivery=existing, duplicate=True)
    # robust: a broker that is down must not turn a stored delivery into an error answer (the provider
    # would resend a duplicate, which is never enqueued); the sweep enqueues it later.
    transaction.on_commit(lambda: wake_processing(tenant_id=delivery.tenant_id), robust=True)
    tallies.add_on_commit("webhook_deliveries_received")
    return Received(delivery=delivery, duplicate=False)


# Every field of a gateway account is decided here, in one place (a test holds that no field is left out):
# what a remembered account must still hold for a delivery verified with it to be stored, and what
# cannot change whether a delivery is accepted (with why).
ACCOUNT_AS_READ = ("id", "tenant", "provider", "live", "secret_encrypted", "settings", "enabled", "webhook_token")
ACCOUNT_NOT_READ = {
    "secret_last4": "shown to support only; the secret itself is compared",
    "purposes": "what the account collects for; a delivery for a payment it started is stored whatever they are now",
    "currencies": "what it collects in, likewise: only new payments are chosen by them",
    "created_at": "never changes",
    "updated_at": "changes with every save, which the compared fields already show",
}


def _insert_once(delivery: WebhookDelivery, *, as_read: GatewayAccount | None = None) -> bool:
    """Store ``delivery`` unless its provider's event id is stored already, or, given ``as_read`` (an
    account as an earlier request read it), unless that account's row no longer holds the same
    ``ACCOUNT_AS_READ`` values; says whether it was stored.

    One statement, ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` (with ``as_read``, an ``INSERT …
    SELECT … WHERE EXISTS`` the unchanged account): outside a transaction it commits by itself, and a
    duplicate (even one arriving at the same moment) is skipped without an error that would abort the
    caller's transaction. The ORM's ``bulk_create(ignore_conflicts=True)`` cannot tell which it was.
    """
    sql, fields, account_fields = _insert_sql(guarded=as_read is not None)
    params = [field.get_db_prep_save(getattr(delivery, field.attname), connection) for field in fields]
    if as_read is not None:
        params += [field.get_db_prep_save(getattr(as_read, field.attname), connection) for field in account_fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    delivery.pk = row[0]
    delivery._state.adding, delivery._state.db = False, connection.alias
    return True


@functools.cache
def _insert_sql(*, guarded: bool) -> tuple[str, list[Field], list[Field]]:
    """``_insert_once``'s statement, with or without its guard, and the fields whose values it takes,
    in order: the delivery's, then the account's. Built once per process."""
    meta, quote = WebhookDelivery._meta, connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    # The names and types come from the models' meta, quoted; the values are parameters.
    columns = ", ".join(quote(field.column) for field in fields)
    account_fields = []
    if guarded:
        account_fields = [GatewayAccount._meta.get_field(name) for name in ACCOUNT_AS_READ]
        typed = ", ".join(f"%s::{field.cast_db_type(connection)}" for field in fields)
        unchanged = " AND ".join(f"{quote(field.column)} = %s::{field.cast_db_type(connection)}"
                                 for field in account_fields)
        account_table = quote(GatewayAccount._meta.db_table)
        values = f"SELECT {typed} WHERE EXISTS (SELECT FROM {account_table} WHERE {unchanged})"  # noqa: S608
    else:
        values = "VALUES (" + ", ".join(["%s"] * len(fields)) + ")"
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) {values}"
    sql += f" ON CONFLICT (provider, event_id, tenant_id) DO NOTHING RETURNING {quote(meta.pk.column)}"
    return sql, fields, account_fields


def enqueue_processing(*, delivery_id: int, tenant_id: int, countdown: float | None = None) -> None:
    # declare=[]: the worker declares its queue when it starts, and on Redis a message sent to a queue
    # nobody declared is kept all the same, so the publish need not check the declaration first. Celery
    # keeps the broker connection in its per-process pool; a publish is one LPUSH.
    #
    # argsrepr/kwargsrepr: what monitoring shows of the arguments. Given, Celery does not build them with
    # its safe repr (made for arguments of any size), a sixth of a publish's CPU.
    kwargs = {"delivery_id": delivery_id, "tenant_id": tenant_id}
    current_app.send_task(PROCESS_TASK, kwargs=kwargs, declare=[], argsrepr="()", kwargsrepr=repr(kwargs),
                          countdown=countdown)


def wake_processing(*, tenant_id: int) -> None:
    """A delivery of the tenant was stored: enqueue a batch task to process the tenant's waiting
    deliveries, unless one is queued and not yet started (it will take this one too; ``core.wakeups``)."""
    wakeups.wake(BATCH_TASK, tenant_id=tenant_id)


def enqueue_batch(*, tenant_id: int) -> None:
    wakeups.enqueue(BATCH_TASK, tenant_id=tenant_id)


def batch_started(*, tenant_id: int) -> None:
    """A batch task of the tenant starts: deliveries stored from now on wake another one."""
    wakeups.started(BATCH_TASK, tenant_id=tenant_id)


def claim_waiting(*, tenant_id: int, claimer: str) -> WebhookDelivery | None:
    """Claim the tenant's oldest delivery whose processing has not started for batch task ``claimer``:
    its attempt is counted in the same statement, which returns it, and deliveries another task is
    claiming are skipped. ``None`` when none is waiting. Outside a transaction it commits by itself."""
    return next(iter(WebhookDelivery.objects.raw(CLAIM, [claimer, tenant_id])), None)


def reclaim_unfinished(*, tenant_id: int, claimer: str) -> list[WebhookDelivery]:
    """The deliveries batch task ``claimer`` claimed and did not finish: it was killed and runs again
    (a redelivered task keeps its id). Each has one more attempt counted."""
    return sorted(WebhookDelivery.objects.raw(RECLAIM, [tenant_id, claimer]), key=lambda delivery: delivery.pk)


CLAIM = """
UPDATE gateways_webhookdelivery SET attempts = attempts + 1, claimed_by = %s
 WHERE id = (SELECT id FROM gateways_webhookdelivery
              WHERE tenant_id = %s AND outcome = 'received' AND attempts = 0
              ORDER BY received_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING *"""
RECLAIM = """
UPDATE gateways_webhookdelivery SET attempts = attempts + 1
 WHERE tenant_id = %s AND outcome = 'received' AND claimed_by = %s
RETURNING *"""


def sweep_unprocessed(*, older_than: timedelta, at: datetime, limit: int = 1000,
                      stalled_after: timedelta = STALLED_AFTER) -> list[int]:
    """Enqueue again, each with its own task, the deliveries whose processing never started (stored
    while the broker was down, or whose task was lost), and those that started once ``stalled_after``
    ago and neither finished nor tried again (a batch task lost with its claim), oldest first;
    returns their ids. Ones that are retrying are left to their retries. Safe to run twice:
    processing a delivery twice changes nothing.
    """
    lost = list(
        WebhookDelivery.objects.filter(outcome=WebhookOutcome.RECEIVED, tenant__isnull=False)
        .filter(Q(attempts=0, received_at__lt=at - older_than) | Q(attempts=1, received_at__lt=at - stalled_after))
        .order_by("received_at", "id")
        .values_list("pk", "tenant_id")[:limit]
    )
    for delivery_id, tenant_id in lost:
        enqueue_processing(delivery_id=delivery_id, tenant_id=tenant_id)
    return [delivery_id for delivery_id, _ in lost]


def event_of(delivery: WebhookDelivery, account: GatewayAccount) -> WebhookEvent:
    """Parse a stored delivery again (it was verified when it arrived), for processing or replay."""
    return registry.gateway_for(account=account).parse_webhook(
        headers=delivery.headers, body=delivery.body.encode(), now=delivery.received_at
    )
