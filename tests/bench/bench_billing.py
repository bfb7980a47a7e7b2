"""Recurring invoices issued and collected by card, as JSON lines (``make bench BENCH=tests/bench/bench_billing.py``).
Not part of ``make test``.

Two tenants, with 100 and ``DULY_BENCH_SCHEDULES`` (1,000) monthly schedules, each customer with a card on file
at Stripe (a local fake answering every charge). Timed as the worker runs them: the sweep that issues this
month's invoices (posted and emailed with a pay link), then, on their due date, the sweep that charges the cards.
The queries per invoice and per charge must be the same for both tenants.
"""

import json
import os
import time
from datetime import UTC, datetime, timedelta
from functools import partial

from django.db import connection
from django.utils import timezone
from django_scopes import scope
from werkzeug import Request, Response

from billing.services import collection, runs
from billing.services.schedules import LineInput, ScheduleData, create_schedule
from crm.models import Customer
from finance import services
from gateways import services as gateway_services
from gateways.base import SavedCard as ProviderCard
from payments.models import ConsentSource, GatewayPayment
from payments.services.gateway_payments import apply_state
from payments.services.saved_cards import consent, keep_card
from tests.factories import TenantFactory

SCHEDULES = int(os.environ.get("DULY_BENCH_SCHEDULES", "1000"))


def emit(**figures):
    print(json.dumps({"cores": os.cpu_count(), **figures}), flush=True)


def counted(work):
    queries = []
    started = time.perf_counter()
    with connection.execute_wrapper(lambda execute, *args: queries.append(1) or execute(*args)):
        done = work()
    return done, time.perf_counter() - started, len(queries)


def tenant_with(slug: str, schedules: int, start):
    tenant = TenantFactory(name=f"Billing bench {slug}", slug=slug, default_currency="GBP")
    with scope(tenant=tenant):
        services.set_up_ledger(tenant=tenant)
        stripe = gateway_services.save_gateway_account(tenant=tenant, provider="stripe", live=False,
                                                       secret="sk_test_bench", settings={"webhook_secret": "whsec"})
        for n in range(schedules):
            customer = Customer.objects.create(tenant=tenant, name=f"Bench {n}", email=f"bench{n}@example.com",
                                               country="GB")
            account = services.open_account(customer=customer, currency="GBP")
            first = GatewayPayment.objects.create(
                tenant=tenant, reference=f"dp_{slug}_{n}", gateway_account=stripe, provider="stripe",
                provider_reference=f"pi_first_{slug}_{n}", account=account, amount=1, currency="GBP",
                mode="hosted_page", description="First", created_at=start, updated_at=start,
                card_consent=consent(source=ConsentSource.EMAIL_PAY, text="Save this card.", at=start))
            apply_state(payment=first, status="succeeded", at=start, source="bench")
            keep_card(payment=GatewayPayment.objects.get(pk=first.pk), at=start,
                      card=ProviderCard(token=f"cus_{n}/pm_{n}", brand="visa", last4="4242", exp_month=12,
                                        exp_year=2039))
            create_schedule(account=account, actor=None, at=start, data=ScheduleData(
                name="Monthly fee", frequency="monthly", start_on=start.date(),
                lines=[LineInput(description="Fee", unit_price="30.00")]))
    return tenant


def charged(request: Request) -> Response:
    """Stripe's answer to an off-session charge: the amount asked for, succeeded."""
    intent = {"id": f"pi_{request.form['metadata[reference]']}", "object": "payment_intent",
              "amount": int(request.form["amount"]), "currency": "gbp", "status": "succeeded"}
    return Response(json.dumps(intent), content_type="application/json")


def bench_issuing_and_collecting(db, settings, httpserver):
    settings.GATEWAY_BASE_URLS = {"stripe": httpserver.url_for("").rstrip("/")}
    httpserver.expect_request("/v1/payment_intents", method="POST").respond_with_handler(charged)
    start = datetime.combine(timezone.localdate(), datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    per = {}
    for slug, size in (("billing-small", 100), ("billing-large", SCHEDULES)):
        tenant = tenant_with(slug, size, start)
        with scope(tenant=tenant):
            issued, issue_seconds, issue_queries = counted(partial(runs.issue_for_tenant, tenant=tenant, at=start))
            made, charge_seconds, charge_queries = counted(
                partial(collection.collect_for_tenant, tenant=tenant, at=start + timedelta(days=30)))
        per[slug] = (issue_queries / issued, charge_queries / made)
        emit(figure="recurring invoices issued", schedules=size, invoices=issued, seconds=round(issue_seconds, 2),
             invoices_per_second=round(issued / issue_seconds, 1), queries_per_invoice=round(issue_queries / issued, 1))
        emit(figure="cards on file charged", charges=made, seconds=round(charge_seconds, 2),
             charges_per_second=round(made / charge_seconds, 1), queries_per_charge=round(charge_queries / made, 1))
        assert issued == size and made == size
    small, large = per["billing-small"], per["billing-large"]
    assert abs(small[0] - large[0]) < 1 and abs(small[1] - large[1]) < 1, per
