"""The customer portal: sign-in by magic link, and paying one instalment through the tenant's gateway.

A customer types their email address on the tenant's portal page; each of the tenant's customers with
that address is emailed a link ``/portal/link/<token>/`` (256 random bits; only the SHA-256 is stored)
that works once, for :data:`MAGIC_LINK_LIFETIME`. The page answers the same whether or not the address
matched. Opening the link starts a session scoped to that one customer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from core.clock import local_time
from core.l10n import for_customer
from core.tokens import hash_token, new_token
from crm.models import Customer, Tenant
from finance import services as ledger
from finance.models import Account, AccountState
from gateways import registry
from gateways import selectors as gateway_selectors
from gateways.base import CheckoutMode
from gateways.models import GatewayAccount, Purpose
from notifications.models import Channel
from notifications.services import notify
from obligations.models import Instalment, PortalLink
from payments.models import PaymentPurpose, PaymentStatus
from payments.services.gateway_payments import AttemptRefused, Checkout, open_checkout, record_payment

MAGIC_LINK_LIFETIME = timedelta(minutes=30)
PORTAL_SESSION_LIFETIME = timedelta(hours=2)


def magic_link(token: str) -> str:
    return settings.DULY_SITE_URL.rstrip("/") + reverse("portal:enter", kwargs={"token": token})


@transaction.atomic
def send_magic_links(*, tenant: Tenant, email: str, at: datetime) -> int:
    """Email a sign-in link to each of ``tenant``'s customers whose address is ``email`` (case-insensitive).
    Returns how many were sent — for tests and logs only: the page never tells the visitor."""
    email = (email or "").strip()
    if not email or "@" not in email or len(email) > 254 or "\x00" in email:
        return 0
    customers = list(Customer.objects.annotate(email_lower=Lower("email")).filter(
        tenant=tenant, email_lower=email.lower()))
    for customer in customers:
        token, token_hash = new_token()
        link = PortalLink.objects.create(tenant=tenant, customer=customer, token_hash=token_hash,
                                         expires_at=at + MAGIC_LINK_LIFETIME, created_at=at)
        with for_customer(customer):
            notify(
                tenant=tenant, event_key=f"portal_link:{link.pk}", template_key="portal_magic_link",
                channels=[Channel.EMAIL], customer=customer,
                context={"magic_link": magic_link(token), "link_expires": local_time(tenant, link.expires_at)},
                subject_ref=f"crm.customer:{customer.pk}", urgent=True, at=at,
            )
    return len(customers)


@transaction.atomic
def use_magic_link(*, token: str, at: datetime) -> Customer | None:
    """The customer a magic link signs in, consuming the link; ``None`` for a link that is unknown,
    expired or used already. Two tabs opening one link at once: one gets the customer, the other ``None``."""
    if not token or len(token) > 100:
        return None
    with scopes_disabled():
        found = PortalLink.objects.filter(token_hash=hash_token(token)).values_list("tenant_id", "pk").first()
    if found is None:
        return None
    with scope(tenant=found[0]):
        used = PortalLink.objects.filter(tenant=found[0], pk=found[1], used_at__isnull=True, expires_at__gt=at
                                         ).update(used_at=at)
        if used != 1:
            return None
        return PortalLink.objects.select_related("customer__tenant").get(tenant=found[0], pk=found[1]).customer


def instalment_gateway_account(*, tenant: Tenant, currency: str) -> GatewayAccount | None:
    """The gateway account the portal collects ``currency`` through (``gateways.selectors``)."""
    return gateway_selectors.gateway_account_for(tenant=tenant, purpose=Purpose.PORTAL, currency=currency)


def instalment_account(*, customer: Customer, currency: str):
    """The customer's account in ``currency`` that an instalment's payment is booked on, opened if missing.

    :raises AttemptRefused: the account is suspended or terminated.
    """
    account = Account.objects.filter(tenant=customer.tenant_id, customer=customer, currency=currency).first()
    if account is None:
        account = ledger.open_account(customer=customer, currency=currency)
    if account.state != AccountState.ACTIVE:
        raise AttemptRefused(_("Online payment is not available for this account. Please contact us."))
    return account


def start_instalment_payment(
    *, instalment: Instalment, gateway_account: GatewayAccount, return_url: str, webhook_url: str, at: datetime,
    card_consent: dict | None = None,
) -> Checkout:
    """Start (or resume) the customer's payment of exactly one instalment through a hosted page.

    The instalment row is locked while the attempt is recorded, so two tabs paying it at once share one
    attempt: a pending attempt with a page is resumed, a processing one refuses a second. The provider is
    called after the lock is released, as ``start_payment`` does.

    :raises AttemptRefused: it is paid, or a payment of it is being processed.
    :raises ValueError: the provider cannot take the currency on a hosted page.
    """
    with transaction.atomic():
        locked = Instalment.objects.select_for_update(of=("self",)).select_related(
            "obligation__customer", "obligation__tenant").get(tenant=instalment.tenant_id, pk=instalment.pk)
        obligation = locked.obligation
        if locked.is_paid:
            raise AttemptRefused(_("This instalment has been paid. Thank you."))
        under_way = locked.attempts.filter(status__in=[PaymentStatus.PENDING, PaymentStatus.PROCESSING]).order_by(
            "-created_at", "-id").first()
        if under_way is not None and under_way.status == PaymentStatus.PROCESSING:
            raise AttemptRefused(_("A payment of this instalment is being processed. Check back in a few minutes."))
        if (under_way is not None and under_way.redirect_url and under_way.amount == locked.amount
                and (under_way.expires_at is None or under_way.expires_at > at)
                and (under_way.card_consent is None) == (card_consent is None)):
            return Checkout(under_way)
        if not registry.capabilities_of(gateway_account.provider).supports(
                mode=CheckoutMode.HOSTED_PAGE, currency=obligation.currency):
            raise ValueError(_("%(gateway_account)s cannot take %(currency)s this way.") % {
                "gateway_account": gateway_account, "currency": obligation.currency})
        payment = record_payment(
            purpose=PaymentPurpose.INSTALMENT, instalment=locked, gateway_account=gateway_account,
            account=instalment_account(customer=obligation.customer, currency=obligation.currency),
            amount=locked.amount, mode=CheckoutMode.HOSTED_PAGE,
            description=f"{obligation.tenant.name}: {obligation.payment_code} instalment {locked.number}", at=at,
            card_consent=card_consent,
        )
    return open_checkout(payment=payment, return_url=return_url, webhook_url=webhook_url, at=at,
                          customer_email=obligation.customer.email)
