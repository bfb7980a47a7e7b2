"""Every field of the bank pages and the bank API, and the statement file itself, posted a hostile value: each
is refused with a page or a JSON error naming the field (never a 500), and nothing is half saved."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scopes_disabled

from banking.models import BankAccount, RefundTransfer, StatementImport, StatementLine, TransferState
from banking.services.refunds import propose_refunds
from crm.models import Role
from finance.models import FinancialTransaction
from tests.banking.conftest import run_import, sample
from tests.conftest import api_client_for, logged_in
from tests.factories import UserFactory

HOSTILE = ["a\x00b", "x" * 10_000, "<script>alert(1)</script>", "💸" * 300, "-1", "1e999", "NaN"]
HOSTILE_FILES = [b"a\x00b\n\x00\x00", b"x" * 10_000, b"<script>alert(1)</script>", "💸".encode() * 300,
                 b"\xff\xfe\x00<\x00?", b"<?xml version='1.0'?><Document xmlns='urn:camt.053'><a>&x;</a></Document>",
                 b":20:X\n:25:DE89370400440532013000\n:61:garbage\n", b"OFXHEADER:100\n<OFX><nonsense>"]


def counts():
    with scopes_disabled():
        return (BankAccount.objects.count(), StatementImport.objects.count(), StatementLine.objects.count(),
                FinancialTransaction.objects.count(),
                RefundTransfer.objects.exclude(state=TransferState.PROPOSED).count())


@pytest.fixture
def clerk(ledger):
    client = logged_in(UserFactory(tenant=ledger, username="clerk", role_keys=[Role.STAFF, Role.ACCOUNTANT]))
    client.raise_request_exception = False
    return client


@pytest.fixture
def decided_nothing(ledger, bank_account, books):
    run_import(ledger, sample("camt053.xml"))
    bank_account.pays_refunds = True
    bank_account.save()
    return {"line": StatementLine.objects.get(tenant=ledger, bank_reference="BANKREF0003"),
            "run": propose_refunds(bank_account=bank_account, actor=None, at=books["first"].posted_at)}


@pytest.mark.django_db
def test_hostile_values_in_every_bank_form_are_refused(clerk, ledger, decided_nothing):
    line, run = decided_nothing["line"], decided_nothing["run"]
    forms = {
        reverse("banking:bank_account_create"): ["name", "iban", "bic", "currency", "pays_refunds", "csv_delimiter",
                                                 "csv_decimal", "csv_date_format", "csv_date", "csv_amount"],
        reverse("banking:statement_import"): ["bank_account"],
        reverse("banking:line_move", args=[line.pk]): ["account"],
        reverse("banking:line_split", args=[line.pk]): ["invoice_1", "amount_1"],
        reverse("banking:line_confirm", args=[line.pk]): ["anything"],
        reverse("banking:refund_propose"): ["bank_account"],
        reverse("banking:refund_run_approve", args=[run.pk]): ["execution_date", "transfers"],
    }
    before = counts()

    answers = {(url, field, value[:12]): clerk.post(url, {field: value}).status_code
               for url, fields in forms.items() for field in fields for value in HOSTILE}

    # An id that names no bank account of the tenant is answered as another tenant's would be: 404.
    allowed = {key: {200, 302, 400} | ({404} if key[1] == "bank_account" else set()) for key in answers}
    assert {key: status for key, status in answers.items() if status not in allowed[key]} == {}
    assert counts() == before


@pytest.mark.django_db
def test_hostile_files_are_refused_whole_on_the_page_and_by_the_api(clerk, ledger, bank_account):
    api = api_client_for(ledger)
    api.raise_request_exception = False
    before = counts()

    for content in HOSTILE_FILES:
        page = clerk.post(reverse("banking:statement_import"),
                          {"file": SimpleUploadedFile("statement.txt", content), "bank_account": bank_account.pk})
        answer = api.post("/api/v1/bank-statements", {"file": SimpleUploadedFile("statement.txt", content),
                                                      "bank_account": bank_account.pk})
        assert page.status_code == 400, content[:40]
        assert "Nothing was imported." in page.content.decode()
        assert answer.status_code == 422, (content[:40], answer.content[:200])
        assert answer.json()["errors"][0]["field"] == "file"

    for value in HOSTILE:
        answer = api.post("/api/v1/bank-statements", {"file": SimpleUploadedFile("s.xml", b"<x/>"),
                                                      "bank_account": value})
        assert answer.status_code == 422, (value[:12], answer.content[:200])
    assert counts() == before
