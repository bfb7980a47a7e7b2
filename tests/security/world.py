"""One tenant with one of everything a page can name, for the security tests to aim at."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.test import Client
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_scopes import scope

from banking.models import BankAccount, RefundRun, StatementImport, StatementLine
from banking.services.imports import Upload, import_statement
from banking.services.matching import book_waiting
from banking.services.refunds import propose_refunds
from billing.models import RecurringSchedule, ScheduleRun
from billing.services.runs import issue_next
from billing.services.schedules import LineInput, ScheduleData, create_schedule
from core.tokens import new_token
from crm import services as crm_services
from crm.models import ApiKey, Role, Tenant, User
from crm.staff import INVITATIONS, Invitation, invite
from finance import services as ledger_services
from finance.models import Account, Classification, FeePayer, FinancialTransaction, TaxRate, TransactionType
from finance.printing import printout_token
from gateways import services as gateway_services
from gateways.models import GatewayAccount, WebhookDelivery
from notifications import services as notification_services
from notifications.models import DevMail, Notification
from obligations.models import Instalment, Obligation, PortalLink
from obligations.services.obligations import ObligationData, Plan, create_obligation
from paylinks.models import PaymentRequest
from paylinks.services.invoice_pay import send_invoice_pay_link
from paylinks.services.requests import RequestData, request_payment
from payments.models import GatewayPayment, GatewayRefund, Receipt, RefundStatus, SavedCard
from payments.services.gateway_payments import apply_state
from payments.services.receipts import receipt_link
from receivables.models import DunningLevel, DunningNotice
from receivables.printing import statement_token
from receivables.selectors import previous_month
from receivables.services.levels import LevelData, save_level
from reports import services as report_services
from reports.models import Segment
from sandbox.models import SandboxCard, SandboxCheckout
from tests.factories import CustomerFactory, UserFactory

EVERY_ROLE = [key for key, _ in Role.KEYS]
SANDBOX_SECRET = "sbx_secret_world_1"
MARKER = "Harriet Holloway"  # the tenant's customer: never on another tenant's page


@dataclass
class World:
    tenant: Tenant
    staff: User
    account: Account
    fee: FinancialTransaction
    gateway: GatewayAccount
    payment_request: PaymentRequest
    request_token: str
    invoice_link_token: str
    payment: GatewayPayment
    refund: GatewayRefund
    receipt: Receipt
    receipt_token: str
    delivery: WebhookDelivery
    notification: Notification
    mail: DevMail
    tax_rate: TaxRate
    checkout: SandboxCheckout
    fields_checkout: SandboxCheckout
    obligation: Obligation
    instalment: Instalment
    portal_token: str
    segment: Segment
    printout_token: str
    invited: User  # a colleague invited by the staff member, who has not chosen a password yet
    invitation: dict  # the invitation link's arguments: uidb64 and token
    api_key: ApiKey  # one the walk may revoke
    bank_account: BankAccount
    statement_import: StatementImport
    statement_line: StatementLine  # a credit on the suspense account, waiting for a decision
    refund_run: RefundRun  # proposed, from a euro account that pays refunds
    dunning_level: DunningLevel
    dunning_notice: DunningNotice  # the fee's first notice (no late fee), which keeps the level from deletion
    statement_token: str  # the emailed link to the account's statement of last month
    schedule: RecurringSchedule  # monthly, started today: its first invoice issued (a run)
    run: ScheduleRun
    saved_card: SavedCard  # kept with the succeeded payment
    sandbox_card: SandboxCard  # the same card, as the sandbox provider keeps it


def _bank(tenant: Tenant) -> tuple[BankAccount, StatementImport, StatementLine]:
    """A bank account with one imported credit that names nothing: booked on the suspense account."""
    now = timezone.now()
    bank_account = BankAccount.objects.create(
        tenant=tenant, name="Current account", iban="GB33BUKB20201555555555", currency="GBP", created_at=now,
        csv_mapping={"columns": {"date": "date", "amount": "amount", "reference": "ref", "name": "name",
                                 "remittance": "text"}})
    csv = f"date,amount,ref,name,text\n{now.date():%Y-%m-%d},25.00,WORLD-1,{MARKER},gift\n"
    record = import_statement(tenant=tenant, upload=Upload(data=csv.encode(), file_name="world.csv"),
                              bank_account=bank_account, actor=None, at=now)
    book_waiting(tenant=tenant, statement_import=record, at=now)
    return bank_account, record, StatementLine.objects.get(tenant=tenant, statement_import=record)


def _refund_run(tenant: Tenant) -> RefundRun:
    euros = BankAccount.objects.create(tenant=tenant, name="Euro account", iban="DE89370400440532013000",
                                       currency="EUR", pays_refunds=True, created_at=timezone.now())
    return propose_refunds(bank_account=euros, actor=None, at=timezone.now())


def _fee(account: Account) -> FinancialTransaction:
    # The broker fee the ledger set-up makes, whatever the tenant's language named it.
    kind = TransactionType.objects.get(tenant=account.tenant, classification=Classification.INVOICE,
                                       fee_payer=FeePayer.CUSTOMER)
    draft = ledger_services.create_transaction(
        account=account,
        classification=Classification.INVOICE,
        actor=None,
        at=timezone.now(),
        data=ledger_services.TransactionData(
            type=kind, lines=[ledger_services.LineData("Broker fee", Decimal(1), Decimal("150.00"))]
        ),
    )
    return ledger_services.post_transaction(txn=draft, actor=None, at=draft.issued_at).transaction


def _sandbox_checkout(gateway: GatewayAccount, *, reference: str, mode: str) -> SandboxCheckout:
    payload = {"reference": reference, "amount_minor": 1250, "currency": "GBP", "description": "Broker fee",
               "mode": mode, "return_url": "https://duly.test/paid", "cancel_url": "https://duly.test/cancelled",
               "webhook_url": f"http://testserver/webhooks/sandbox/{gateway.webhook_token}/"}
    response = Client(headers={"Authorization": f"Bearer {SANDBOX_SECRET}"}).post(
        "/sandbox/api/checkouts", data=json.dumps(payload), content_type="application/json")
    assert response.status_code == 201, response.content
    return SandboxCheckout.objects.with_scopes_disabled().get(id=response.json()["id"])


def build_world(tenant: Tenant) -> World:
    """Tenant A: a customer with a GBP account, a posted broker fee, a sandbox gateway, a payment request
    and an invoice pay link (with their raw tokens), a succeeded gateway payment with its receipt and link,
    a webhook delivery, an in-app notification, a caught email, a tax rate and two sandbox checkouts."""
    staff = UserFactory(tenant=tenant, username="world-owner", role_keys=EVERY_ROLE)
    with scope(tenant=tenant):
        ledger_services.set_up_ledger(tenant=tenant)
        customer = CustomerFactory(tenant=tenant, name=MARKER, email="harriet@example.com", phone="+447911123456",
                                   language=tenant.locale)
        account = ledger_services.open_account(customer=customer, currency="GBP")
        fee = _fee(account)
        gateway = gateway_services.save_gateway_account(tenant=tenant, provider="sandbox", live=False,
                                                        secret=SANDBOX_SECRET)
        payment_request, request_token = request_payment(
            customer=customer, account=account, actor=staff, at=timezone.now(),
            data=RequestData(amount="120.00", reference="INV-42", message="Deposit", channels=["email"]),
        )
        invoice_link_token = send_invoice_pay_link(invoice=fee, actor=staff, at=timezone.now())
        now = timezone.now()
        payment = GatewayPayment.objects.create(
            tenant=tenant, reference="dp_world_1", gateway_account=gateway, provider="sandbox",
            provider_reference="sbx_world_1", account=account, invoice=fee, amount=Decimal("50.00"), currency="GBP",
            mode="hosted_page", description="Broker fee", created_at=now, updated_at=now,
        )
        payment = apply_state(payment=payment, status="succeeded", at=now, source="world").payment
        receipt = Receipt.objects.get(ledger_payment=payment.ledger_payment)
        refund = GatewayRefund.objects.create(  # one the provider refused, so it has a Retry button
            tenant=tenant, payment=payment, amount=Decimal("10.00"), idempotency_key="rf_world_1",
            status=RefundStatus.FAILED, failure_message="Declined by the sandbox.", created_by=staff, created_at=now)
        receipt_token = receipt_link(receipt=receipt)
        delivery = WebhookDelivery.objects.create(provider="sandbox", tenant=tenant, gateway_account=gateway,
                                                  event_id="evt_world_1", body="{}", received_at=now)
        [notification] = notification_services.notify(
            tenant=tenant, event_key="world:1", template_key="payment_received", channels=["in_app"], users=[staff],
            context={"amount": "£5.00"}, at=now,
        )
        tax_rate = TaxRate.objects.filter(tenant=tenant).first() or TaxRate.objects.create(
            tenant=tenant, name="Standard", percent=Decimal("20"))
        obligation = create_obligation(
            customer=customer,
            actor=staff,
            at=now,
            plan=Plan(kind="automatic", first_due_on=now.date() + timedelta(days=40), count=2),
            data=ObligationData(
                payee="DVLA",
                payee_kind="government",
                payment_code="RT-1",
                description="Road tax",
                total_amount="200.00",
                currency="GBP",
                date_rule="next",
                manager_comments="",
            ),
        )
        portal_token, portal_hash = new_token()
        PortalLink.objects.create(tenant=tenant, customer=customer, token_hash=portal_hash, created_at=now,
                                  expires_at=now + timedelta(minutes=30))
        segment = report_services.save_segment(tenant=tenant, name="Everything", subject="transactions", rules={},
                                               actor=staff, at=now)
        instalment = obligation.instalments.order_by("number").first()
    with scope(tenant=tenant):
        bank_account, statement_import, statement_line = _bank(tenant)
        refund_run = _refund_run(tenant)
        dunning_level = save_level(tenant=tenant, data=LevelData(name="First notice", days=7))
        dunning_notice = DunningNotice.objects.create(
            tenant=tenant, invoice=fee, level=dunning_level, state="sent", outstanding=fee.open_amount,
            currency=fee.currency, at=timezone.now())
        start, end = previous_month(timezone.localdate())
        schedule = create_schedule(account=account, actor=staff, at=timezone.now(), data=ScheduleData(
            name="Monthly policy fee", frequency="monthly", start_on=timezone.localdate(),
            lines=[LineInput(description="Policy fee", unit_price="25.00")]))
        run = issue_next(schedule=schedule, at=timezone.now())
        sandbox_card = SandboxCard.objects.create(id="sbxpm_world1234", tenant=tenant, account=gateway, brand="visa",
                                                  last4="4242", exp_month=12, exp_year=2039, behaviour="succeeds")
        saved_card = SavedCard.objects.create(
            tenant=tenant, customer=customer, gateway_account=gateway, provider="sandbox", token=sandbox_card.id,
            brand="visa", last4="4242", exp_month=12, exp_year=2039, first_payment=payment, consent_at=now,
            consent_text="Save this card.", consent_source="email_pay", created_at=now)
    mail = DevMail.objects.create(tenant=tenant, from_email="a@example.com", to="harriet@example.com",
                                  subject=f"For {MARKER}", text=f"Dear {MARKER}")
    invited = invite(tenant=tenant, actor=staff, data=Invitation(email="newcomer@acme.example"), at=timezone.now(),
                     site="http://testserver")
    return World(
        tenant=tenant, staff=staff, account=account, fee=fee, gateway=gateway, payment_request=payment_request,
        request_token=request_token, invoice_link_token=invoice_link_token, payment=payment, refund=refund,
        receipt=receipt, receipt_token=receipt_token, delivery=delivery, notification=notification, mail=mail,
        tax_rate=tax_rate,
        checkout=_sandbox_checkout(gateway, reference="world-page", mode="hosted_page"),
        fields_checkout=_sandbox_checkout(gateway, reference="world-fields", mode="card_fields"),
        obligation=obligation, instalment=instalment,
        portal_token=portal_token, segment=segment,
        printout_token=printout_token(tenant_id=tenant.pk, transaction_id=fee.pk),
        api_key=crm_services.create_api_key(tenant=tenant, name="world integration")[0],
        invited=invited, invitation={"uidb64": urlsafe_base64_encode(force_bytes(invited.pk)),
                                     "token": INVITATIONS.make_token(invited)},
        bank_account=bank_account, statement_import=statement_import, statement_line=statement_line,
        refund_run=refund_run, dunning_level=dunning_level, dunning_notice=dunning_notice,
        statement_token=statement_token(tenant_id=tenant.pk, account_id=account.pk, start=start, end=end),
        schedule=schedule, run=run, saved_card=saved_card, sandbox_card=sandbox_card,
    )
