"""Every field of receivables' forms and API bodies, posted a hostile value beside valid ones: refused with a
page or a JSON error naming the field (never a 500), or taken as exactly the text it is."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from crm.models import Role
from receivables.models import DunningLevel, InvoiceHold, ReceivablesSettings, StatementSend
from tests.conftest import logged_in
from tests.factories import AccountFactory, UserFactory
from tests.receivables.conftest import invoice_due

pytestmark = pytest.mark.django_db
HOSTILE = ["a\x00b", "x" * 10_000, "<script>alert(1)</script>", "💸" * 300, "-1e400", "2026-02-30"]


@pytest.fixture
def admin(ledger):
    client = logged_in(UserFactory(tenant=ledger, username="ada", role_keys=[Role.STAFF, Role.ADMINISTRATOR]))
    client.raise_request_exception = False
    return client


@pytest.fixture
def invoice(ledger, customer):
    return invoice_due(AccountFactory(customer=customer), timezone.localdate() - timedelta(days=10))


def posted(client, url, base, fields, **extra):
    return {(field, value[:12]): client.post(url, base | {field: value}, **extra).status_code
            for field in fields for value in HOSTILE}


def test_a_level_with_a_hostile_field_is_refused_or_saved_as_typed(admin, fee_type):
    base = {"name": "Late", "days": "14", "email": "on", "sms": "", "fee_amount": "", "fee_type": ""}
    answers = posted(admin, "/finance/receivables/dunning/levels/new/", base,
                     ["name", "days", "email", "sms", "fee_amount", "fee_type"])
    assert set(answers.values()) <= {302, 422}, answers
    assert answers[("days", "x" * 12)] == answers[("fee_amount", "-1e400")] == 422
    # The first name that is a name is saved exactly as typed; every later post is on its day, so refused.
    assert list(DunningLevel.objects.values_list("name", "days")) == [("<script>alert(1)</script>", 14)]


def test_the_settings_take_only_ticks(admin):
    answers = posted(admin, "/finance/receivables/dunning/", {}, ["dunning_enabled", "monthly_statements"])
    assert set(answers.values()) == {302}
    assert ReceivablesSettings.objects.get().monthly_statements is True  # any non-empty value is a tick


def test_a_hold_with_a_hostile_field_is_refused_by_field_or_kept_as_typed(admin, invoice):
    url = f"/finance/receivables/invoices/{invoice.pk}/hold/"
    answers = posted(admin, url, {"reason": "dispute", "until": "", "note": "Wrong."}, ["reason", "until", "note"],
                     HTTP_HX_REQUEST="true")
    assert set(answers.values()) <= {200, 422}, answers
    assert answers[("reason", "a\x00b")] == answers[("until", "2026-02-30")] == answers[("note", "x" * 12)] == 422
    assert answers[("note", "a\x00b")] == 422
    # Every hostile reason or date is refused; every note that is text is kept exactly as typed.
    as_typed = {value for value in HOSTILE if "\x00" not in value and len(value) <= 500}
    assert set(InvoiceHold.objects.values_list("note", flat=True)) == as_typed


def test_a_statement_period_that_is_not_one_sends_nothing(admin, invoice):
    url = f"/finance/receivables/accounts/{invoice.account_id}/statement/"
    for field in ("start", "end"):
        for value in HOSTILE:
            assert admin.get(url, {"start": "2026-11-01", "end": "2026-11-30"} | {field: value}).status_code == 302
            assert admin.post(url + "send/", {"start": "2026-11-01", "end": "2026-11-30"} | {field: value}
                              ).status_code == 302
    assert not StatementSend.objects.exists()


def test_the_api_refuses_hostile_bodies_and_periods_naming_the_field(api_client, invoice):
    url = f"/api/v1/invoices/{invoice.pk}/dunning/hold"
    until = (timezone.localdate() + timedelta(days=3)).isoformat()
    for field in ("reason", "until", "note"):
        for value in HOSTILE:
            body = {"reason": "promise", "until": until, "note": "Payday."} | {field: value}
            answer = api_client.post(url, body, content_type="application/json")
            if answer.status_code == 200:
                assert (field, answer.json()["hold"]["note"]) == ("note", value)
                continue
            assert answer.status_code == 422, (field, value, answer.status_code)
            assert [e["field"] for e in answer.json()["errors"]] == [field]
    statement = f"/api/v1/accounts/{invoice.account_id}/statement"
    for value in HOSTILE:
        answer = api_client.get(statement, {"start": value, "end": date(2026, 11, 30).isoformat()})
        assert (answer.status_code, [e["field"] for e in answer.json()["errors"]]) == (422, ["start"])
