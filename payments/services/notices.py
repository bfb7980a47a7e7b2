"""Payment notices: a payment's success tells its payer (a confirmation with the receipt's link) and its
staff (an in-app note). The booking writes one ``PaymentNotice`` row in its own transaction (the booking
function, ``payments/sql/booking_v2.sql``); the notifications worker renders the messages into the outbox
(``send_waiting_notices``), so a burst of bookings does not wait for their templates.

Nothing is lost: the row commits with the booking, a task is woken after the commit, and the sweep finds
any whose task was lost. Nothing is told twice: the outbox writes one message per event key, and a row
is deleted with the messages it wrote.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import cache, partial

from django.db import transaction

from core import wakeups
from crm.models import Tenant
from notifications.selectors import remembering
from payments.models import GatewayPayment, PaymentNotice
from payments.services.confirmations import confirm_to_payer, payment_managers, tell_staff

logger = logging.getLogger(__name__)
NOTICES_TASK = "payments.send_payment_notices"
BATCH_SIZE = 200  # notices one task renders; it wakes another for the rest
LOST_AFTER = timedelta(minutes=2)  # a notice this old was not taken up: the sweep wakes its tenant's task


def wake_after_commit(*, tenant_id: int) -> None:
    """The booking wrote a notice (``payments_book_success``): wake its tenant's task once it commits."""
    transaction.on_commit(partial(wake, tenant_id=tenant_id), robust=True)


def wake(*, tenant_id: int) -> None:
    """Enqueue the tenant's notices task, unless one is queued and not yet started (``core.wakeups``)."""
    wakeups.wake(NOTICES_TASK, tenant_id=tenant_id)


def enqueue(*, tenant_id: int) -> None:
    """Enqueue the tenant's notices task whatever the mark says (the sweep: a lost task leaves it set)."""
    wakeups.enqueue(NOTICES_TASK, tenant_id=tenant_id)


def send_waiting_notices(*, tenant: Tenant, limit: int = BATCH_SIZE) -> list[int]:
    """Render the tenant's waiting notices into the outbox, oldest first, up to ``limit``, each in a
    transaction of its own that takes its row (skipping any another task holds) and writes its messages.
    The tenant's message wordings, settings and payment managers are read once. Returns the payments told."""
    wakeups.started(NOTICES_TASK, tenant_id=tenant.pk)
    told: list[int] = []
    failed: list[int] = []  # notices that raised: left for the next run, and passed over in this one
    managers = cache(payment_managers)
    with remembering():
        while len(told) < limit:
            notice_id = None
            try:
                with transaction.atomic():
                    notice = next(iter(PaymentNotice.objects.raw(TAKE, [tenant.pk, failed])), None)
                    if notice is None:
                        return told
                    notice_id = notice.pk
                    told.append(_tell(tenant, notice, managers))
            except Exception:
                if notice_id is None:
                    raise
                logger.exception("Payment notice %s could not be told; it waits for the next run", notice_id)
                failed.append(notice_id)
    wake(tenant_id=tenant.pk)
    return told


def _tell(tenant: Tenant, notice: PaymentNotice, managers) -> int:
    payment = GatewayPayment.objects.select_related(
        "account__customer", "created_by", "ledger_payment__payment_method", "invoice", "gateway_account",
    ).get(tenant=tenant, pk=notice.payment_id)
    payment.tenant = tenant
    if payment.account.customer is not None:
        payment.account.customer.tenant = tenant
    confirm_to_payer(payment=payment, receipt_token=notice.receipt_token, at=notice.at)
    tell_staff(payment=payment, at=notice.at, managers=managers)
    return payment.pk


# The oldest waiting notice of a tenant, taken (deleted, so the row stays locked until the commit) unless
# another task holds it: the messages are written in the same transaction, or the notice comes back.
TAKE = """
DELETE FROM payments_paymentnotice
 WHERE id = (SELECT id FROM payments_paymentnotice WHERE tenant_id = %s AND NOT id = ANY(%s::bigint[])
              ORDER BY at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING *"""


def tenants_with_lost_notices(*, at: datetime) -> list[int]:
    """Tenants with a notice waiting longer than ``LOST_AFTER`` (its task was lost): for the sweep."""
    return list(PaymentNotice.objects.filter(at__lt=at - LOST_AFTER).order_by().values_list(
        "tenant_id", flat=True).distinct())
