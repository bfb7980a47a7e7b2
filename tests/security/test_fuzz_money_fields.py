"""Every money field of every API operation and staff form, fed amounts that break naive parsing.

The API's money fields are found in its OpenAPI document (any string property named like an amount,
a price, a limit or a balance), so an operation added tomorrow is fuzzed too: it fails here until it
has a valid sample body in ``API_BODIES``. Each hostile value must answer 422 naming the field, and
nothing may be saved.
"""

from __future__ import annotations

import copy
import json
import re

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from config.api import api
from finance.models import Classification, PaymentMethod, RefundMethod, TransactionType
from tests.conftest import api_client_for, logged_in
from tests.security.world import build_world

MONEY_NAME = re.compile(r"amount|price|limit|balance")
# (An empty amount is not here: where a field is optional it means "none" or the default.)
HOSTILE = ["1e309", "-1e309", "9" * 30, "0." + "0" * 40 + "1", "1e-400", "NaN", "sNaN", "-Infinity", "Infinity",
           "12.345", "0x10", "1_000", "12,50", "٣", "-5.00"]
TABLES = ("finance.FinancialTransaction", "finance.Account", "paylinks.PaymentRequest", "payments.GatewayRefund",
          "obligations.Obligation", "obligations.Instalment", "finance.TransactionLine", "billing.RecurringSchedule",
          "billing.ScheduleLine")


def _schemas() -> dict:
    return api.get_openapi_schema()


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _is_text(schema: dict, components: dict) -> bool:
    schema = _resolve(schema, components)
    return schema.get("type") == "string" or any(_is_text(s, components) for s in schema.get("anyOf", []))


def _money_paths(schema: dict, components: dict, prefix: str = "") -> list[str]:
    schema = _resolve(schema, components)
    paths = []
    for option in schema.get("anyOf", []):
        paths += _money_paths(option, components, prefix)
    for name, prop in schema.get("properties", {}).items():
        resolved = _resolve(prop, components)
        if resolved.get("type") == "array":
            paths += _money_paths(resolved["items"], components, f"{prefix}{name}.0.")
        elif MONEY_NAME.search(name) and _is_text(prop, components):
            paths.append(f"{prefix}{name}")
        else:
            paths += _money_paths(prop, components, f"{prefix}{name}.")
    return sorted(set(paths))


def money_operations() -> dict[tuple[str, str], list[str]]:
    """(method, path template) → the dotted paths of its money fields."""
    schema = _schemas()
    components = schema["components"]["schemas"]
    found = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body and (paths := _money_paths(body, components)):
                found[(method, path)] = paths
    return found


def _line(price="10.00"):
    return {"description": "Service", "quantity": "1", "unit_price": price}


API_BODIES = {
    ("post", "/api/v1/accounts"): lambda w: ({}, {"customer": w.account.customer_id, "currency": "EUR",
                                                  "credit_limit": "100.00"}),
    ("post", "/api/v1/accounts/{account_id}/refunds"): lambda w: (
        {"account_id": w.account.pk},
        {"amount": {"amount": "5.00", "currency": "GBP"}, "refund_method": w.refund_method.pk}),
    ("post", "/api/v1/transactions"): lambda w: ({}, {
        "account": w.account.pk, "classification": "invoice", "post": True,
        "lines": [_line() | {"discount_amount": "1.00"}]}),
    # The same operation for a payment, whose amount is one figure rather than lines.
    ("post", "/api/v1/transactions", "amount"): lambda w: ({}, {
        "account": w.account.pk, "classification": "payment", "post": True,
        "amount": {"amount": "5.00", "currency": "GBP"},
        "payment_method": w.cash.pk}),
    ("patch", "/api/v1/transactions/{transaction_id}"): lambda w: (
        {"transaction_id": w.draft_payment.pk}, {"amount": {"amount": "6.00", "currency": "GBP"}}),
    ("post", "/api/v1/payment-requests"): lambda w: ({}, {
        "customer": w.account.customer_id, "account": w.account.pk, "amount": "20.00", "channels": ["email"]}),
    ("post", "/api/v1/payments/{payment_id}/refunds"): lambda w: ({"payment_id": w.payment.pk}, {"amount": "1.00"}),
    ("post", "/api/v1/obligations"): lambda w: ({}, {
        "customer": w.account.customer_id, "payee": "DVLA", "payment_code": "RT-9", "description": "Road tax",
        "total_amount": "200.00", "currency": "GBP", "plan": "manual", "instalment_amount": "100.00",
        "instalments": [{"due_on": "2031-01-15", "amount": "100.00"}, {"due_on": "2031-02-15", "amount": "100.00"}]}),
    # The same operation for an automatic plan, whose instalments are worked out from one amount.
    ("post", "/api/v1/obligations", "instalment_amount"): lambda w: ({}, {
        "customer": w.account.customer_id, "payee": "DVLA", "payment_code": "RT-10", "description": "Road tax",
        "total_amount": "200.00", "currency": "GBP", "plan": "automatic", "first_due_on": "2031-01-15",
        "count": 2, "instalment_amount": "100.00"}),
    ("patch", "/api/v1/obligations/{obligation_id}"): lambda w: (
        {"obligation_id": w.obligation.pk}, {"total_amount": "210.00"}),
    ("patch", "/api/v1/instalments/{instalment_id}"): lambda w: (
        {"instalment_id": w.instalment.pk}, {"amount": "90.00"}),
    ("post", "/api/v1/schedules"): lambda w: ({}, {
        "account": w.account.pk, "name": "Monthly retainer", "frequency": "monthly",
        "start_on": timezone.localdate().isoformat(), "lines": [_line("50.00")]}),
}


def _set(body: dict, dotted: str, value) -> dict:
    body = copy.deepcopy(body)
    keys = [int(k) if k.isdigit() else k for k in dotted.split(".")]
    target = body
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return body


def counts() -> dict[str, int]:
    with scopes_disabled():
        return {label: apps.get_model(label).objects.count() for label in TABLES}


@pytest.fixture
def world(tenant, settings):
    world = build_world(tenant)
    with scopes_disabled():
        world.refund_method = RefundMethod.objects.get_or_create(tenant=tenant, name="Bank transfer")[0]
        payment_type = TransactionType.objects.get(tenant=tenant, classification=Classification.PAYMENT,
                                                   is_default=True)
        world.cash = PaymentMethod.objects.get_or_create(tenant=tenant, name="Cash")[0]
        payment_type.payment_methods.add(world.cash, through_defaults={"tenant_id": world.cash.tenant_id})
    from django_scopes import scope

    from finance import services as ledger

    with scope(tenant=tenant):
        world.draft_payment = ledger.create_transaction(
            account=world.account,
            classification=Classification.PAYMENT,
            actor=None,
            at=timezone.now(),
            data=ledger.TransactionData(amount="5.00", payment_method=world.cash),
        )
    return world


def _named(field: str) -> set[str]:
    """How an error may name the field: as sent (``lines[0].unit_price``), or by the object holding it."""
    bracketed = re.sub(r"\.(\d+)\.", r"[\1].", field)
    return {field, bracketed, field.rsplit(".", 1)[0], bracketed.split(".")[0]}


def error_fields(response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


@pytest.mark.django_db
class TestEveryApiMoneyField:
    def test_every_operation_that_takes_money_has_a_sample_body(self):
        assert sorted(money_operations()) == sorted(key for key in API_BODIES if len(key) == 2)

    def test_the_sample_bodies_are_accepted(self, world, tenant):
        client = api_client_for(tenant)
        for (method, path, *_), sample in API_BODIES.items():
            kwargs, body = sample(world)
            response = getattr(client, method)(path.format(**kwargs), json.dumps(body),
                                               content_type="application/json")
            assert response.status_code in (200, 201), (method, path, response.content)

    def test_a_hostile_amount_is_422_naming_the_field_and_nothing_is_saved(self, world, tenant):
        client = api_client_for(tenant)
        client.raise_request_exception = False
        before = counts()
        wrong = []
        for (method, path), fields in money_operations().items():
            for field in fields:
                sample = API_BODIES.get((method, path, field.split(".")[0]), API_BODIES[(method, path)])
                kwargs, body = sample(world)
                if field.split(".0.")[0].split(".")[0] not in body:
                    continue  # a field of the other kind of the same operation (a payment's, an invoice's)
                if field == "instalment_amount" and body["plan"] != "automatic":
                    continue
                for value in HOSTILE:
                    response = getattr(client, method)(path.format(**kwargs), json.dumps(_set(body, field, value)),
                                                       content_type="application/json")
                    as_json = response["Content-Type"].startswith("application/json")
                    named = response.status_code == 422 and as_json and _named(field) & error_fields(response)
                    if not named:
                        wrong.append(f"{method.upper()} {path} {field}={value!r} → {response.status_code} "
                                     f"{response.content[:160]!r}")

        assert wrong == [], "\n".join(wrong)
        assert counts() == before


STAFF_FORMS = {
    # url name, its arguments, a valid form, the money fields
    "finance:transaction_create": (
        lambda w: {"classification": "payment"},
        lambda w: {"account": w.account.pk, "type": "", "amount": "5.00",
                   "payment_method": w.cash.pk},
        ["amount"]),
    "finance:account_open": (
        lambda w: {"customer_id": w.account.customer_id},
        lambda w: {"currency": "EUR", "credit_limit": "100.00", "due_date_rule": "", "name": ""},
        ["credit_limit"]),
    "finance:account_refund": (
        lambda w: {"account_id": w.account.pk},
        lambda w: {"amount": "5.00", "refund_method": w.refund_method.pk},
        ["amount"]),
    "paylinks:request_create": (
        lambda w: {"customer_id": w.account.customer_id},
        lambda w: {"account": w.account.pk, "amount": "20.00", "channels": ["email"]},
        ["amount"]),
    "payments:refund_create": (
        lambda w: {"payment_id": w.payment.pk}, lambda w: {"amount": "1.00"}, ["amount"]),
    "obligations:instalment_edit": (
        lambda w: {"instalment_id": w.instalment.pk},
        lambda w: {"amount": "90.00", "due_on": w.instalment.due_on.isoformat(), "reason": "typo"},
        ["amount"]),
}


@pytest.mark.django_db
class TestEveryStaffMoneyField:
    def test_a_hostile_amount_is_refused_on_the_page_and_nothing_is_saved(self, world):
        client = logged_in(world.staff)
        client.raise_request_exception = False
        before = counts()
        wrong = []
        for name, (arguments, valid, fields) in STAFF_FORMS.items():
            url = reverse(name, kwargs=arguments(world))
            for field in fields:
                for value in HOSTILE:
                    response = client.post(url, valid(world) | {field: value}, HTTP_HX_REQUEST="true")
                    if response.status_code not in (200, 302, 422) or (
                            response.status_code == 302 and counts() != before):
                        wrong.append(f"{name} {field}={value!r} → {response.status_code}")

        assert wrong == [], "\n".join(wrong)
        assert counts() == before
