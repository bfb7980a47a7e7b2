"""The bank pages and ``/api/v1/bank-statements``: who may import, what a refusal says, the decisions."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from banking.models import LineState, StatementImport, StatementLine
from crm.models import AuditEntry, Role
from tests.banking.conftest import SAMPLES, run_import, sample
from tests.conftest import api_client_for, logged_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def accountant_client(ledger):
    return logged_in(UserFactory(tenant=ledger, username="clerk", role_keys=[Role.STAFF, Role.ACCOUNTANT]))


def upload(name: str, content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content if content is not None else (SAMPLES / name).read_bytes())


def test_an_accountant_imports_a_statement_through_the_page(accountant_client, ledger, bank_account, books):
    response = accountant_client.post(reverse("banking:statement_import"), {"file": upload("camt053.xml")})

    record = StatementImport.objects.get(tenant=ledger)
    assert response.status_code == 302
    assert response["Location"] == reverse("banking:import_detail", args=[record.pk])
    assert (record.lines_added, record.bank_account) == (4, bank_account)
    page = accountant_client.get(response["Location"]).content.decode()
    assert "4 new of 4 in the file" in page


def test_a_malformed_file_is_refused_on_the_page_naming_the_line(accountant_client, ledger, bank_account):
    response = accountant_client.post(reverse("banking:statement_import"), {"file": upload("camt053_malformed.xml")})

    assert response.status_code == 400
    assert "Nothing was imported. Line 13: the amount &#x27;ten euros&#x27; is not a number." in (
        response.content.decode())
    assert not StatementLine.objects.filter(tenant=ledger).exists()


def test_staff_without_the_accountant_role_may_look_but_not_import(staff_client, ledger, bank_account):
    assert staff_client.get(reverse("banking:home")).status_code == 200
    assert staff_client.get(reverse("banking:statement_import")).status_code == 403
    assert staff_client.post(reverse("banking:statement_import"), {"file": upload("camt053.xml")}).status_code == 403


def test_confirm_move_and_split_from_the_pages(accountant_client, ledger, bank_account, books):
    run_import(ledger, sample("camt053.xml"))
    lines = {line.bank_reference: line for line in StatementLine.objects.filter(tenant=ledger)}
    page = accountant_client.get(reverse("banking:reconciliation")).content.decode()
    assert "Bruno Weber" in page and "70 % sure" in page

    confirmed = accountant_client.post(reverse("banking:line_confirm", args=[lines["BANKREF0002"].pk]))
    moved_search = accountant_client.get(reverse("banking:line_detail", args=[lines["BANKREF0003"].pk]),
                                         {"q": "anna"}).content.decode()
    moved = accountant_client.post(reverse("banking:line_move", args=[lines["BANKREF0003"].pk]),
                                   {"account": books["anna"].pk})

    assert (confirmed.status_code, moved.status_code) == (302, 302)
    assert "Move here" in moved_search
    states = dict(StatementLine.objects.filter(tenant=ledger).values_list("bank_reference", "state"))
    assert (states["BANKREF0002"], states["BANKREF0003"]) == (LineState.MATCHED, LineState.MATCHED)
    assert set(AuditEntry.objects.filter(tenant=ledger).values_list("action", flat=True)) >= {
        "bank.imported", "bank.confirmed", "bank.moved"}


def test_a_split_that_names_no_invoice_says_so_and_books_nothing(accountant_client, ledger, bank_account, books):
    run_import(ledger, sample("camt053.xml"))
    line = StatementLine.objects.get(tenant=ledger, bank_reference="BANKREF0003")

    response = accountant_client.post(reverse("banking:line_split", args=[line.pk]),
                                      {"invoice_1": "INV-999999", "amount_1": "42.00"})

    assert response.status_code == 400
    assert "No posted invoice is numbered INV-999999." in response.content.decode()
    line.refresh_from_db()
    assert line.state == LineState.SUSPENSE


def test_a_bank_account_with_a_bad_iban_is_refused_naming_the_field(accountant_client, ledger):
    response = accountant_client.post(reverse("banking:bank_account_create"), {
        "name": "Main", "iban": "DE00 0000", "currency": "EUR", "csv_delimiter": ",", "csv_decimal": ".",
        "csv_date_format": "%Y-%m-%d"})

    assert response.status_code == 200
    assert "IBAN: “DE00 0000” is not a valid IBAN." in response.content.decode()


def test_the_api_imports_finding_the_account_by_iban(ledger, bank_account, books):
    client = api_client_for(ledger)

    response = client.post("/api/v1/bank-statements", {"file": upload("camt053.xml")})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["bank_account"], body["iban"], body["format"], body["lines_added"]) == (
        bank_account.pk, "DE89370400440532013000", "camt.053", 4)
    again = client.post("/api/v1/bank-statements", {"file": upload("statement.sta")})
    assert (again.status_code, again.json()["lines_added"]) == (201, 0)


def test_the_api_refuses_a_malformed_file_naming_the_line(ledger, bank_account):
    response = api_client_for(ledger).post("/api/v1/bank-statements", {"file": upload("camt053_malformed.xml")})

    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "file",
                                          "message": "Line 13: the amount 'ten euros' is not a number."}]


def test_the_api_refuses_an_unknown_iban_and_another_tenants_bank_account(ledger, bank_account, other_tenant):
    other = api_client_for(other_tenant)

    by_iban = other.post("/api/v1/bank-statements", {"file": upload("camt053.xml")})
    by_id = other.post("/api/v1/bank-statements", {"file": upload("camt053.xml"), "bank_account": bank_account.pk})

    assert by_iban.status_code == 422
    assert by_iban.json()["errors"][0]["message"] == (
        "the file is for the account DE89370400440532013000, which is not one of your bank accounts.")
    assert (by_id.status_code, by_id.json()["errors"]) == (422, [{"field": "bank_account",
                                                                   "message": "No such bank account."}])


def test_a_body_over_the_limit_is_refused_unread(ledger, bank_account, settings):
    settings.DULY_MAX_REQUEST_BYTES = 50_000_000
    big = b"<x/>" + b" " * 50_000_001

    response = api_client_for(ledger).post("/api/v1/bank-statements", {"file": upload("big.xml", big)})

    assert response.status_code == 413
    assert response.json() == {"detail": "The request is 50.0 MB; at most 50 MB is accepted."}
    assert not StatementImport.objects.filter(tenant=ledger).exists()


def test_a_customers_iban_is_checked_and_kept_compact(ledger, customer):
    client = api_client_for(ledger)

    bad = client.patch(f"/api/v1/customers/{customer.pk}", {"iban": "DE00 1234"}, content_type="application/json")
    good = client.patch(f"/api/v1/customers/{customer.pk}", {"iban": "de89 3704 0044 0532 0130 00"},
                        content_type="application/json")

    assert (bad.status_code, bad.json()["errors"]) == (422, [{"field": "iban",
                                                               "message": "“DE00 1234” is not a valid IBAN."}])
    assert (good.status_code, good.json()["iban"]) == (200, "DE89370400440532013000")
