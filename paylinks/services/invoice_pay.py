"""Email pay ("Email Pago"): a posted invoice is emailed to its customer with a pay-now link; the
customer pays its outstanding amount, or part of it, through the tenant's gateway; each success books
one ledger payment allocated to the invoice (``apply_state``) and emails a confirmation.

The link is an ``InvoicePayLink``, not a ``PaymentRequest``: a request asks for a fixed amount once and
completes on its first success, while an invoice link pays whatever is outstanding, in several parts,
until the invoice is settled. The token (256 random bits) travels only in the link; its SHA-256 is
stored. A link works for 30 days (an invoice is paid over weeks, not hours); sending again makes a new
link and leaves earlier ones working until they expire.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from core.clock import local_time
from core.l10n import day, for_customer
from core.l10n import money as format_money
from core.tokens import hash_token, new_token
from crm.models import User
from finance.amounts import NotAnAmount, parse_plain
from finance.models import Classification, FinancialTransaction, TransactionState
from gateways import registry
from gateways import selectors as gateway_selectors
from gateways.base import CheckoutMode
from gateways.models import GatewayAccount, Purpose
from notifications.services import notify
from paylinks.models import InvoicePayLink
from payments.models import GatewayPayment, PaymentPurpose, PaymentStatus
from payments.services.gateway_payments import AttemptRefused, Checkout, open_checkout, record_payment

INVOICE_LINK_LIFETIME = timedelta(days=30)


def invoice_pay_link(token: str) -> str:
    return settings.DULY_SITE_URL.rstrip("/") + reverse("pay:invoice", kwargs={"token": token})


def invoice_gateway_account(*, invoice: FinancialTransaction) -> GatewayAccount | None:
    """The gateway account the invoice's pay link collects through (``gateways.selectors``)."""
    return gateway_selectors.gateway_account_for(tenant=invoice.tenant_id, purpose=Purpose.INVOICE_LINKS,
                                                 currency=invoice.currency)


def send_refusal(*, invoice: FinancialTransaction) -> str:
    """Why the invoice cannot be sent with a pay link now, or ``""``."""
    return _refusal(invoice)[1]


def _refusal(invoice: FinancialTransaction) -> tuple[str, str]:
    """The field at fault and why the invoice cannot be sent with a pay link, or ``("", "")``."""
    field, reason = "__all__", _refusal_of_invoice(invoice)
    if not reason:
        field, reason = "currency", gateway_selectors.refusal(
            tenant=invoice.tenant_id, purpose=Purpose.INVOICE_LINKS, currency=invoice.currency)
    return (field, reason) if reason else ("", "")


def _refusal_of_invoice(invoice: FinancialTransaction) -> str:
    if invoice.classification != Classification.INVOICE:
        return _("Only an invoice can be sent with a pay link.")
    if invoice.state != TransactionState.POSTED:
        return _("The invoice is %(lower)s; only a posted invoice can be sent to pay.") % {
            "lower": invoice.get_state_display().lower()}
    if invoice.open_amount <= 0:
        return _("The invoice has nothing outstanding; there is nothing to pay.")
    if refusal := invoice.lender_fee_refusal():
        return refusal
    customer = invoice.account.customer
    if customer is None:
        return _("The invoice's account has no customer to send it to.")
    if not customer.email:
        return _("%(name)s has no email address. Add it to the customer's file first.") % {"name": customer.name}
    return ""


def invoice_context(invoice: FinancialTransaction) -> dict[str, str]:
    tenant = invoice.account.tenant
    return {
        "invoice.number": invoice.number, "invoice.reference": invoice.reference_number,
        "invoice.date": local_time(tenant, invoice.posted_at or invoice.issued_at),
        "invoice.total": format_money(invoice.total_amount, invoice.currency),
        "invoice.outstanding": format_money(invoice.open_amount, invoice.currency),
        "amount": format_money(invoice.open_amount, invoice.currency), "currency": invoice.currency,
        "due_date": day(invoice.due_on, "long") if invoice.due_on else _("on receipt"),
    }


def new_invoice_pay_link(
    *, invoice: FinancialTransaction, actor: User | None, at: datetime,
) -> tuple[InvoicePayLink, str]:
    """A new pay link to the invoice's outstanding amount (a dunning notice's, the portal's Pay button), and
    its raw token. The caller has checked the invoice may be paid; nothing is sent."""
    token, token_hash = new_token()
    link = InvoicePayLink.objects.create(
        tenant_id=invoice.tenant_id, invoice=invoice, token_hash=token_hash,
        sent_to=invoice.account.customer.email if invoice.account.customer else "",
        expires_at=at + INVOICE_LINK_LIFETIME, created_by=actor, created_at=at,
    )
    return link, token


@transaction.atomic
def send_invoice_pay_link(*, invoice: FinancialTransaction, actor: User | None, at: datetime) -> str:
    """Email the invoice's customer the invoice with a pay-now link; return the link's raw token
    (stored nowhere; only its hash is).

    :raises ValidationError: the invoice is not posted, has nothing outstanding, its customer has no
        email address, or no enabled gateway takes its currency. Nothing is saved or sent.
    """
    invoice = FinancialTransaction.objects.select_for_update(of=("self",)).select_related(
        "account__customer", "account__tenant"
    ).get(tenant=invoice.tenant_id, pk=invoice.pk)
    field, reason = _refusal(invoice)
    if reason:
        raise ValidationError({field: reason})
    customer = invoice.account.customer
    link, token = new_invoice_pay_link(invoice=invoice, actor=actor, at=at)
    with for_customer(customer):
        notify(
            tenant=invoice.account.tenant, event_key=f"invoice:{invoice.pk}:email_pay:{link.pk}",
            template_key="invoice_email_pay", channels=["email"], customer=customer,
            context=invoice_context(invoice) | {"pay_link": invoice_pay_link(token)},
            subject_ref=f"finance.financialtransaction:{invoice.pk}", actor=actor, urgent=True, at=at,
        )
    return token


def link_for_token(*, token: str) -> InvoicePayLink | None:
    """The link a token names (expired or not), or ``None``; found before the tenant is known."""
    if not token or len(token) > 100:
        return None
    with scopes_disabled():
        found = InvoicePayLink.objects.filter(token_hash=hash_token(token)).values_list("tenant_id", "pk").first()
    if found is None:
        return None
    with scope(tenant=found[0]):
        return InvoicePayLink.objects.select_related("tenant", "invoice__account__customer").get(
            tenant=found[0], pk=found[1]
        )


def parse_amount(value, *, outstanding: Decimal, currency: str) -> Decimal:
    """:raises ValidationError: keyed ``amount``."""
    try:
        amount = parse_plain(value)
    except NotAnAmount as refusal:
        raise ValidationError({"amount": str(refusal) if refusal.too_large
                               else _("Enter an amount such as 120.00.")}) from None
    if amount <= 0:
        raise ValidationError({"amount": _("The amount must be more than zero.")})
    if amount.as_tuple().exponent < -2:
        raise ValidationError({"amount": _("The amount has at most 2 decimal places.")})
    if amount > outstanding:
        raise ValidationError({"amount": _("The amount cannot be more than the outstanding %(amount)s.") % {
            "amount": format_money(outstanding, currency)}})
    return amount


def start_invoice_payment(
    *, link: InvoicePayLink, amount, gateway_account: GatewayAccount, return_url: str, webhook_url: str,
    at: datetime, card_consent: dict | None = None,
) -> Checkout:
    """Start the customer's payment of ``amount`` (all or part of what is outstanding) of the link's
    invoice through a hosted page. The invoice row is locked while the attempt is recorded; the provider
    is called after, as ``start_payment`` does.

    :raises ValidationError: keyed ``amount`` (not a positive amount up to the outstanding one).
    :raises AttemptRefused: the link expired, the invoice is paid, a payment is being processed, or it is a
        fee due from a lender or provider (a link sent before such fees were refused).
    :raises ValueError: the provider cannot take the invoice's currency on a hosted page.
    """
    if not registry.capabilities_of(gateway_account.provider).supports(
            mode=CheckoutMode.HOSTED_PAGE, currency=link.invoice.currency):
        raise ValueError(_("%(gateway_account)s cannot take %(currency)s this way.") % {
            "gateway_account": gateway_account, "currency": link.invoice.currency})
    with transaction.atomic():
        invoice = FinancialTransaction.objects.select_for_update(of=("self",)).select_related(
            "account__tenant", "account__customer"
        ).get(tenant=link.tenant_id, pk=link.invoice_id)
        if link.expires_at <= at:
            raise AttemptRefused(_("This link has expired. Ask for a new one if you still wish to pay."))
        if invoice.state != TransactionState.POSTED or invoice.open_amount <= 0:
            raise AttemptRefused(_("This invoice has been paid. Thank you."))
        if invoice.is_due_from_lender():
            raise AttemptRefused(_("This fee is not yours to pay; %(tenant)s collects it elsewhere.") % {
                "tenant": invoice.account.tenant.name})
        if GatewayPayment.objects.filter(tenant=invoice.tenant_id, invoice=invoice,
                                         status=PaymentStatus.PROCESSING).exists():
            raise AttemptRefused(_("A payment of this invoice is being processed. Check back in a few minutes."))
        amount = parse_amount(amount, outstanding=invoice.open_amount, currency=invoice.currency)
        tenant = invoice.account.tenant
        payment = record_payment(
            purpose=PaymentPurpose.EMAIL_PAY, invoice_pay_link=link, gateway_account=gateway_account,
            account=invoice.account, invoice=invoice, amount=amount, mode=CheckoutMode.HOSTED_PAGE,
            description=f"{tenant.name}: invoice {invoice.number}", created_by=link.created_by, at=at,
            card_consent=card_consent,
        )
    return open_checkout(payment=payment, return_url=return_url, webhook_url=webhook_url, at=at,
                          customer_email=link.sent_to)
