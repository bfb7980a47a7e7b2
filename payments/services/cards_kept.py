"""Recording the card a provider kept for a succeeded payment whose customer agreed (``SavedCard``): what both
``gateway_payments`` (a payer back from the provider's page) and ``saved_cards`` (the task after a webhook) do."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from gateways.base import SavedCard as ProviderCard
from payments.models import GatewayPayment, PaymentStatus, SavedCard


@transaction.atomic
def keep_card(*, payment: GatewayPayment, card: ProviderCard, at: datetime) -> SavedCard | None:
    """Record the card the provider kept for a succeeded payment whose customer agreed. Once: a second call
    answers the card already kept. A card the customer had removed and saves again is theirs again."""
    consent_given = payment.card_consent
    customer = payment.account.customer
    if not consent_given or customer is None or payment.status != PaymentStatus.SUCCEEDED:
        return None
    existing = SavedCard.objects.filter(tenant=payment.tenant_id, provider=payment.provider, token=card.token).first()
    if existing is not None:
        if existing.removed_at is not None and existing.first_payment_id != payment.pk:
            existing.removed_at, existing.removed_via, existing.removed_by = None, "", None
            existing.consent_at, existing.consent_text = datetime.fromisoformat(consent_given["at"]), \
                consent_given["text"]
            existing.save()
        return existing
    try:
        with transaction.atomic():
            return SavedCard.objects.create(
                tenant_id=payment.tenant_id, customer=customer, gateway_account=payment.gateway_account,
                provider=payment.provider, token=card.token, brand=card.brand[:20], last4=card.last4,
                exp_month=card.exp_month, exp_year=card.exp_year, first_payment=payment,
                consent_at=datetime.fromisoformat(consent_given["at"]), consent_text=consent_given["text"],
                consent_source=consent_given["source"], consent_ip=consent_given.get("ip"), created_at=at,
            )
    except IntegrityError:  # kept by a concurrent call
        return SavedCard.objects.get(tenant=payment.tenant_id, first_payment=payment)
