"""Automatic collection of recurring invoices with the card on file, against a local fake of Stripe's API:
a success books one payment; a charge that needs the customer or is declined sends one pay link and hands the
invoice to dunning; declines are retried on the tenant's days, each once; a removed card is never charged."""

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from billing import tasks
from billing.models import AttemptResult, CollectionAttempt, ScheduleRun
from finance.models import Classification, FinancialTransaction
from gateways import services as gateway_services
from gateways.models import WebhookDelivery
from notifications.models import Notification
from payments.models import GatewayPayment, PaymentStatus, RemovedVia
from payments.services.saved_cards import remove_card
from payments.tasks import process_webhook_delivery
from receivables import selectors as receivables_selectors
from tests.billing.conftest import START, card_on_file, monthly
from tests.gateways.test_inbox import SECRET, signed, stripe_event

pytestmark = pytest.mark.django_db
DUE = START + timedelta(days=30)  # the ledger's rule: 30 days after posting


def moment(day, hour=9):
    return datetime.combine(day, time(hour), tzinfo=UTC)


def intent(status="succeeded", **extra):
    return {"id": "pi_charge_1", "object": "payment_intent", "amount": 3000, "currency": "gbp", "status": status,
            "last_payment_error": None, **extra}


def card_error(code, message):
    return {"error": {"type": "card_error", "code": code, "message": message,
                      "payment_intent": intent("requires_payment_method")}}


@pytest.fixture
def stripe(ledger, settings, httpserver):
    settings.GATEWAY_BASE_URLS = {"stripe": httpserver.url_for("").rstrip("/")}
    return gateway_services.save_gateway_account(tenant=ledger, provider="stripe", live=False, secret="sk_test_1",
                                                 settings={"webhook_secret": SECRET})


@pytest.fixture
def card(account, stripe):
    return card_on_file(account, stripe, token="cus_1/pm_1")


@pytest.fixture
def run(account, policy_fee, card):
    monthly(account, at=moment(START), product=policy_fee)
    tasks.issue_recurring_invoices.apply(kwargs={"as_of": moment(START).isoformat()})
    return ScheduleRun.objects.get()


def collect_on(day):
    tasks.collect_by_card.apply(kwargs={"as_of": moment(day).isoformat()})


def charges(httpserver):
    return [dict(request.form) for request, _response in httpserver.log if request.path == "/v1/payment_intents"]


def card_payments():
    return FinancialTransaction.objects.filter(classification=Classification.PAYMENT,
                                               gateway_payment__saved_card__isnull=False)


def test_the_invoice_says_the_card_will_be_charged(run):
    assert run.collect_by_card
    email = Notification.objects.get(template_key="recurring_invoice")
    assert "We will charge your Visa •••• 4242 on 14 February 2027." in email.body


def test_a_charge_that_succeeds_on_the_due_date_books_one_payment(run, httpserver, stripe):
    httpserver.expect_request("/v1/payment_intents", method="POST").respond_with_json(intent())

    collect_on(DUE - timedelta(days=1))
    assert charges(httpserver) == []
    collect_on(DUE)
    collect_on(DUE)
    collect_on(DUE + timedelta(days=1))

    assert charges(httpserver) == [{
        "amount": "3000", "currency": "gbp", "customer": "cus_1", "payment_method": "pm_1", "off_session": "true",
        "confirm": "true", "description": f"{run.invoice.account.tenant.name}: invoice INV-000002",
        "metadata[reference]": f"dc_{run.pk}_0", "payment_method_types[0]": "card"}]
    assert httpserver.log[-1][0].headers["Idempotency-Key"] == f"dc_{run.pk}_0"
    payment = card_payments().get()
    assert payment.total_amount == Decimal("30.00")
    assert FinancialTransaction.objects.get(pk=run.invoice_id).open_amount == Decimal("0.00")
    attempt = CollectionAttempt.objects.get()
    assert (attempt.number, attempt.result, attempt.payment.status) == (0, AttemptResult.SUCCEEDED,
                                                                         PaymentStatus.SUCCEEDED)
    # Stripe's own webhook for the same charge arrives: the same path, nothing booked twice.
    body = stripe_event(event_id="evt_charge", intent="pi_charge_1").replace(b'"eur"', b'"gbp"').replace(
        b"1250", b"3000")
    response = Client().post(f"/webhooks/stripe/{stripe.webhook_token}/", data=body,
                             content_type="application/json", **signed(body))
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    process_webhook_delivery.apply(kwargs={"tenant_id": stripe.tenant_id, "delivery_id": delivery.pk})
    assert card_payments().count() == 1
    assert not Notification.objects.filter(template_key="card_charge_failed").exists()


def test_a_charge_that_needs_authentication_sends_one_pay_link_and_enters_dunning(run, httpserver):
    httpserver.expect_request("/v1/payment_intents", method="POST").respond_with_json(
        card_error("authentication_required", "This payment requires authentication."), status=402)

    for offset in (0, 1, 3, 7, 10):
        collect_on(DUE + timedelta(days=offset))

    assert len(charges(httpserver)) == 1  # never retried: it needs the customer
    attempt = CollectionAttempt.objects.get()
    assert (attempt.result, attempt.message) == (AttemptResult.AUTHENTICATION_REQUIRED,
                                                 "This payment requires authentication.")
    assert attempt.payment.status == PaymentStatus.FAILED
    failed = Notification.objects.filter(template_key="card_charge_failed")
    assert failed.count() == 1
    assert "/pay/invoice/" in failed.get().body and "Visa •••• 4242" in failed.get().body
    assert card_payments().count() == 0
    chased = receivables_selectors.chased_invoices(tenant=run.tenant)
    assert list(chased.values_list("pk", flat=True)) == [run.invoice_id]


def test_a_declined_card_is_retried_on_each_retry_day_once_then_paid(run, httpserver):
    declined = card_error("card_declined", "Your card was declined.")
    for _ in range(3):
        httpserver.expect_ordered_request("/v1/payment_intents", method="POST").respond_with_json(declined, status=402)
    httpserver.expect_ordered_request("/v1/payment_intents", method="POST").respond_with_json(intent())

    day = DUE
    while day <= DUE + timedelta(days=12):
        collect_on(day)
        collect_on(day)
        day += timedelta(days=1)

    attempts = list(CollectionAttempt.objects.order_by("number").values_list("number", "result",
                                                                             "answered_at__date"))
    assert attempts == [(0, "declined", DUE), (1, "declined", DUE + timedelta(days=1)),
                        (2, "declined", DUE + timedelta(days=3)), (3, "succeeded", DUE + timedelta(days=7))]
    assert [form["metadata[reference]"] for form in charges(httpserver)] == [f"dc_{run.pk}_{n}" for n in range(4)]
    assert Notification.objects.filter(template_key="card_charge_failed").count() == 1
    assert card_payments().count() == 1


def test_a_removed_card_is_never_charged(run, card, httpserver):
    httpserver.expect_request("/v1/payment_methods/pm_1/detach", method="POST").respond_with_json(
        {"id": "pm_1", "object": "payment_method", "customer": None})

    remove_card(card=card, via=RemovedVia.STAFF, actor=None, at=moment(DUE - timedelta(days=2)))
    for offset in (0, 1, 3, 7):
        collect_on(DUE + timedelta(days=offset))

    assert charges(httpserver) == []
    assert [r.path for r, _ in httpserver.log] == ["/v1/payment_methods/pm_1/detach"]
    attempt = CollectionAttempt.objects.get()
    assert (attempt.result, attempt.payment_id) == (AttemptResult.NO_CARD, None)
    assert Notification.objects.filter(template_key="card_charge_failed").count() == 1
    assert not GatewayPayment.objects.filter(saved_card__isnull=False).exists()


def test_a_provider_that_does_not_answer_is_charged_again_with_the_same_reference(run, httpserver):
    httpserver.expect_ordered_request("/v1/payment_intents", method="POST").respond_with_json(
        {"error": {"type": "api_error", "message": "Something went wrong on Stripe's end."}}, status=500)
    httpserver.expect_ordered_request("/v1/payment_intents", method="POST").respond_with_json(intent())

    collect_on(DUE)
    assert CollectionAttempt.objects.get().result == AttemptResult.UNAVAILABLE
    assert GatewayPayment.objects.get(saved_card__isnull=False).status == PaymentStatus.PENDING
    collect_on(DUE)

    assert [form["metadata[reference]"] for form in charges(httpserver)] == [f"dc_{run.pk}_0"] * 2
    assert CollectionAttempt.objects.get().result == AttemptResult.SUCCEEDED
    assert card_payments().count() == 1


def test_an_invoice_paid_before_its_due_date_is_not_charged(run, httpserver, staff):
    from finance.models import PaymentMethod
    from finance.services import quick_pay
    quick_pay(invoice=FinancialTransaction.objects.get(pk=run.invoice_id),
              payment_method=PaymentMethod.objects.filter(tenant=run.tenant).first(), actor=staff,
              at=moment(DUE - timedelta(days=3)))

    collect_on(DUE)

    assert charges(httpserver) == [] and not CollectionAttempt.objects.exists()


def road_tax(customer, first_due_on):
    from obligations.services.obligations import ObligationData, Plan, create_obligation
    return create_obligation(
        customer=customer, actor=None, at=moment(first_due_on - timedelta(days=60)),
        plan=Plan(kind="automatic", first_due_on=first_due_on, count=2),
        data=ObligationData(payee="DVLA", payee_kind="government", payment_code="RT-1", description="Road tax",
                            total_amount="60.00", currency="GBP", date_rule="next", manager_comments=""))


class TestInstalments:
    def test_an_instalment_due_after_the_card_was_kept_is_charged_and_settled(self, account, card, customer,
                                                                              httpserver):
        from obligations.models import Instalment
        httpserver.expect_request("/v1/payment_intents", method="POST").respond_with_json(intent(**{"amount": 3000}))
        obligation = road_tax(customer, date(2027, 2, 1))
        first, second = obligation.instalments.order_by("number")

        collect_on(first.due_on)
        collect_on(first.due_on)

        first = Instalment.objects.get(pk=first.pk)
        assert first.is_paid and first.ledger_invoice.total_amount == Decimal("30.00")
        assert first.ledger_invoice.open_amount == Decimal("0.00")
        charge = GatewayPayment.objects.get(instalment=first)
        assert (charge.purpose, charge.saved_card_id, charge.status) == ("instalment", card.pk,
                                                                         PaymentStatus.SUCCEEDED)
        assert [form["metadata[reference]"] for form in charges(httpserver)] == [f"di_{first.pk}_0"]
        assert not Instalment.objects.get(pk=second.pk).is_paid

    def test_an_instalment_due_before_the_card_was_kept_is_not_charged(self, account, card, customer, httpserver):
        obligation = road_tax(customer, date(2027, 1, 5))  # the card was kept on 10 January

        collect_on(date(2027, 1, 20))

        assert charges(httpserver) == []
        assert not CollectionAttempt.objects.filter(instalment__obligation=obligation).exists()

    def test_an_instalment_on_a_suspended_account_is_not_charged(self, account, card, customer, httpserver):
        from finance.services import change_account_state
        obligation = road_tax(customer, date(2027, 2, 1))
        change_account_state(account=account, action="suspend", actor=None, at=moment(date(2027, 1, 20)))

        collect_on(obligation.instalments.order_by("number").first().due_on)

        assert charges(httpserver) == []
        assert not CollectionAttempt.objects.exists()

    def test_a_declined_instalment_tells_the_customer_once_and_is_retried(self, account, card, customer, httpserver):
        httpserver.expect_request("/v1/payment_intents", method="POST").respond_with_json(
            card_error("card_declined", "Your card was declined."), status=402)
        obligation = road_tax(customer, date(2027, 2, 1))
        first = obligation.instalments.order_by("number").first()

        for offset in range(0, 9):
            collect_on(first.due_on + timedelta(days=offset))

        attempts = list(CollectionAttempt.objects.filter(instalment=first).order_by("number").values_list(
            "number", "result"))
        assert attempts == [(0, "declined"), (1, "declined"), (2, "declined"), (3, "declined")]
        told = Notification.objects.filter(template_key="instalment_card_failed")
        assert told.count() == 1
        assert "Road tax" in told.get().body and "/portal/" in told.get().body


def test_a_declined_card_hands_the_invoice_to_dunning(run, httpserver):
    httpserver.expect_request("/v1/payment_intents", method="POST").respond_with_json(
        card_error("card_declined", "Your card was declined."), status=402)
    before = list(receivables_selectors.chased_invoices(tenant=run.tenant).values_list("pk", flat=True))

    collect_on(DUE)

    assert before == []  # until the card fails, dunning leaves the invoice to it
    assert list(receivables_selectors.chased_invoices(tenant=run.tenant).values_list("pk", flat=True)) == [
        run.invoice_id]


def test_cashflows_charges_the_parent_job_and_books_one_payment(account, customer, policy_fee, settings, httpserver):
    from tests.gateways import test_cashflows
    from tests.gateways.test_saved_cards_contract import cashflows_child
    settings.GATEWAY_BASE_URLS = {"cashflows": httpserver.url_for("").rstrip("/")}
    cashflows = gateway_services.save_gateway_account(
        tenant=account.tenant, provider="cashflows", live=False, secret=test_cashflows.API_KEY,
        settings={"configuration_id": test_cashflows.CONFIGURATION_ID})
    card_on_file(account, cashflows, token=test_cashflows.JOB)
    monthly(account, at=moment(START), product=policy_fee)
    tasks.issue_recurring_invoices.apply(kwargs={"as_of": moment(START).isoformat()})
    httpserver.expect_request("/api/gateway/payment-jobs", method="POST").respond_with_handler(
        test_cashflows.cashflows(cashflows_child("Paid"), status=201))

    collect_on(DUE)
    collect_on(DUE)

    [request] = [r for r, _ in httpserver.log if r.path == "/api/gateway/payment-jobs"]
    body = json.loads(request.get_data())
    assert (body["parentPaymentJobReference"], body["amountToCollect"], body["currency"]) == (
        int(test_cashflows.JOB), "30.00", "GBP")
    assert card_payments().get().total_amount == Decimal("30.00")
    assert FinancialTransaction.objects.get(pk=ScheduleRun.objects.get().invoice_id).open_amount == Decimal("0.00")


def test_a_charge_of_another_amount_books_nothing_and_stays_visible(run, httpserver):
    httpserver.expect_request("/v1/payment_intents", method="POST").respond_with_json(intent(amount=2500))

    collect_on(DUE)

    attempt = CollectionAttempt.objects.get()
    assert attempt.result == AttemptResult.UNAVAILABLE
    assert attempt.message == f"dc_{run.pk}_0: the provider reports 25.00 GBP, not 30.00."
    payment = GatewayPayment.objects.get(saved_card__isnull=False)
    assert (payment.status, payment.failure_message) == (PaymentStatus.PENDING, attempt.message)
    assert card_payments().count() == 0


def test_no_charge_while_the_customers_own_payment_is_processing(run, httpserver, stripe):
    from tests.factories import GatewayPaymentFactory
    GatewayPaymentFactory(account=run.invoice.account, gateway_account=stripe, invoice=run.invoice, amount="30.00",
                          provider_reference="cs_own", status=PaymentStatus.PROCESSING)

    collect_on(DUE)

    assert charges(httpserver) == [] and not CollectionAttempt.objects.exists()
