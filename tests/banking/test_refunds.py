"""Seed 004, scenario 1: credit balances refunded by bank transfer every month, confirmed by the bank's file."""

from datetime import date, timedelta
from pathlib import Path

import pytest
import sepaxml
import xmlschema
from django.urls import reverse
from lxml import etree

from banking.models import LineState, MatchedBy, RefundRun, RefundTransfer, RunState, TransferState
from banking.services.imports import Upload
from banking.services.refunds import approve_run, propose_monthly, propose_refunds
from crm.models import AuditEntry, Role
from finance.exceptions import ActionNotAllowed
from finance.models import Classification, FinancialTransaction
from tests.banking.camt import Entry, statement
from tests.banking.conftest import AT, IBAN, D, ledger_account, run_import
from tests.conftest import logged_in
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db
PAIN_XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
MONDAY = date(2026, 12, 7)


@pytest.fixture
def paying(bank_account):
    bank_account.pays_refunds = True
    bank_account.bic = "COBADEFFXXX"
    bank_account.save()
    return bank_account


@pytest.fixture
def in_credit(ledger):
    """Carla overpaid by 40.00 (has an IBAN); Dario by 15.50 (no IBAN); Emil owes 20.00."""
    carla = ledger_account(CustomerFactory(tenant=ledger, name="Carla Diaz", iban="ES9121000418450200051332"))
    dario = ledger_account(CustomerFactory(tenant=ledger, name="Dario Fo"))
    emil = ledger_account(CustomerFactory(tenant=ledger, name="Emil Nolde", iban="DE02120300000000202051"))
    PaymentFactory(account=carla, amount="40.00")
    PaymentFactory(account=dario, amount="15.50")
    InvoiceFactory(account=emil, price="20.00")
    return {"carla": carla, "dario": dario, "emil": emil}


def fresh(row):
    return type(row).objects.get(pk=row.pk)


def test_a_run_proposes_each_account_in_credit_and_lists_those_without_an_iban_apart(ledger, paying, in_credit):
    run = propose_refunds(bank_account=paying, actor=None, at=AT)

    transfers = {t.name: (t.amount, t.state, t.iban) for t in run.transfers.all()}
    assert transfers == {
        "Carla Diaz": (D("40.00"), TransferState.PROPOSED, "ES9121000418450200051332"),
        "Dario Fo": (D("15.50"), TransferState.NO_IBAN, ""),
    }
    assert AuditEntry.objects.get(tenant=ledger, action="bank.refunds_proposed").detail == "2 accounts in credit"


def test_approval_posts_the_refunds_and_writes_a_schema_valid_pain001(ledger, paying, in_credit, staff):
    run = propose_refunds(bank_account=paying, actor=None, at=AT)
    carla = run.transfers.get(name="Carla Diaz")

    approved = approve_run(run=run, transfer_ids=[carla.pk], execution_date=MONDAY, actor=staff, at=AT)

    carla = fresh(carla)
    assert (approved.state, carla.state, carla.end_to_end_id) == (
        RunState.APPROVED, TransferState.SENT, f"DULY-REFUND-{carla.pk}")
    assert (carla.refund.classification, carla.refund.total_amount, carla.refund.external_reference) == (
        Classification.REFUND, D("40.00"), carla.end_to_end_id)
    assert fresh(in_credit["carla"]).balance == D("0.00")
    document = approved.file.encode()
    xmlschema.XMLSchema(str(PAIN_XSD)).validate(etree.fromstring(document))
    root = etree.fromstring(document)
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "40.00"
    assert root.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == IBAN
    assert root.findtext(".//p:ReqdExctnDt", namespaces=NS) == "2026-12-07"
    tx = root.find(".//p:CdtTrfTxInf", namespaces=NS)
    assert [tx.findtext(path, namespaces=NS) for path in (
        "p:PmtId/p:EndToEndId", "p:Amt/p:InstdAmt", "p:Cdtr/p:Nm", "p:CdtrAcct/p:Id/p:IBAN")] == [
        carla.end_to_end_id, "40.00", "Carla Diaz", "ES9121000418450200051332"]
    assert fresh(run.transfers.get(name="Dario Fo")).state == TransferState.NO_IBAN


def test_a_refund_left_unticked_is_left_out_and_a_second_approval_is_refused(ledger, paying, in_credit, staff):
    PaymentFactory(account=in_credit["emil"], amount="50.00")  # Emil now 30.00 in credit
    run = propose_refunds(bank_account=paying, actor=None, at=AT)
    carla, emil = run.transfers.get(name="Carla Diaz"), run.transfers.get(name="Emil Nolde")

    approve_run(run=run, transfer_ids=[emil.pk], execution_date=MONDAY, actor=staff, at=AT)

    assert (fresh(carla).state, fresh(emil).state, fresh(emil).amount) == (
        TransferState.LEFT_OUT, TransferState.SENT, D("30.00"))
    with pytest.raises(ActionNotAllowed, match="approved already"):
        approve_run(run=run, transfer_ids=[carla.pk], execution_date=MONDAY, actor=staff, at=AT)


def test_a_balance_that_shrank_since_the_proposal_is_refunded_as_it_is_now(ledger, paying, in_credit, staff):
    run = propose_refunds(bank_account=paying, actor=None, at=AT)
    InvoiceFactory(account=in_credit["carla"], price="25.00")  # Carla now 15.00 in credit
    carla = run.transfers.get(name="Carla Diaz")

    approve_run(run=run, transfer_ids=[carla.pk], execution_date=MONDAY, actor=staff, at=AT)

    assert fresh(carla).amount == D("15.00")
    assert fresh(in_credit["carla"]).balance == D("0.00")


def test_bad_approvals_post_nothing(ledger, paying, in_credit, staff):
    run = propose_refunds(bank_account=paying, actor=None, at=AT)
    carla = run.transfers.get(name="Carla Diaz")
    refunds_before = FinancialTransaction.objects.filter(tenant=ledger, classification=Classification.REFUND).count()

    with pytest.raises(Exception, match="Choose a day after today"):
        approve_run(run=run, transfer_ids=[carla.pk], execution_date=AT.date(), actor=staff, at=AT)
    with pytest.raises(Exception, match="Choose at least one refund"):
        approve_run(run=run, transfer_ids=[], execution_date=MONDAY, actor=staff, at=AT)

    assert fresh(run).state == RunState.PROPOSED
    assert FinancialTransaction.objects.filter(tenant=ledger, classification=Classification.REFUND).count() == (
        refunds_before)


def test_only_euro_accounts_that_pay_refunds_make_runs(ledger, bank_account, in_credit):
    with pytest.raises(ActionNotAllowed, match="Refunds are not paid from"):
        propose_refunds(bank_account=bank_account, actor=None, at=AT)
    bank_account.pays_refunds, bank_account.currency = True, "GBP"
    bank_account.save()
    with pytest.raises(ActionNotAllowed, match=r"SEPA transfers are in euros; .* is in GBP\."):
        propose_refunds(bank_account=bank_account, actor=None, at=AT)


def test_beat_makes_one_run_a_month_however_often_it_runs(ledger, paying, in_credit, staff):
    first = propose_monthly(tenant=ledger, at=AT)
    approve_run(run=first[0], transfer_ids=[t.pk for t in first[0].transfers.filter(state="proposed")],
                execution_date=MONDAY, actor=staff, at=AT)

    again = propose_monthly(tenant=ledger, at=AT + timedelta(hours=1))
    later = propose_monthly(tenant=ledger, at=AT + timedelta(days=3))
    next_month = propose_monthly(tenant=ledger, at=AT + timedelta(days=31))

    assert (len(first), again, later, len(next_month)) == (1, [], [], 1)
    assert list(RefundRun.objects.filter(tenant=ledger).values_list("period", flat=True).order_by("period")) == [
        "2026-12", "2027-01"]


def test_the_banks_statement_confirms_a_transfer_and_a_returned_one_puts_the_money_back(
        ledger, paying, in_credit, staff):
    PaymentFactory(account=in_credit["emil"], amount="50.00")  # Emil 30.00 in credit
    run = propose_refunds(bank_account=paying, actor=None, at=AT)
    carla, emil = run.transfers.get(name="Carla Diaz"), run.transfers.get(name="Emil Nolde")
    approve_run(run=run, transfer_ids=[carla.pk, emil.pk], execution_date=MONDAY, actor=staff, at=AT)
    carla, emil = fresh(carla), fresh(emil)

    booked = statement(IBAN, [
        Entry(reference="OUT-1", amount=D("40.00"), booked_on=MONDAY, credit=False,
              end_to_end=carla.end_to_end_id),
        Entry(reference="OUT-2", amount=D("30.00"), booked_on=MONDAY, credit=False, end_to_end=emil.end_to_end_id),
        Entry(reference="BACK-2", amount=D("30.00"), booked_on=MONDAY + timedelta(days=2),
              end_to_end=emil.end_to_end_id, return_reason="AC04"),
    ])
    run_import(ledger, Upload(data=booked, file_name="after.xml"))

    carla, emil = fresh(carla), fresh(emil)
    assert (carla.state, carla.confirmed_by.bank_reference) == (TransferState.CONFIRMED, "OUT-1")
    assert (emil.state, emil.returned_by.bank_reference) == (TransferState.RETURNED, "BACK-2")
    assert (emil.returned_by.state, emil.returned_by.matched_by) == (LineState.MATCHED, MatchedBy.REFUND_RETURNED)
    assert emil.returned_by.payment.account == in_credit["emil"]
    assert fresh(in_credit["emil"]).balance == D("-30.00")  # in credit again: the next run proposes it
    assert fresh(in_credit["carla"]).balance == D("0.00")


def test_the_refund_pages(ledger, paying, in_credit):
    clerk = logged_in(UserFactory(tenant=ledger, username="clerk", role_keys=[Role.STAFF, Role.ACCOUNTANT]))

    proposed = clerk.post(reverse("banking:refund_propose"), {"bank_account": paying.pk})
    run = RefundRun.objects.get(tenant=ledger)
    page = clerk.get(proposed["Location"]).content.decode()
    carla = run.transfers.get(name="Carla Diaz")
    refused = clerk.post(reverse("banking:refund_run_approve", args=[run.pk]), {"execution_date": "not a date"})
    approved = clerk.post(reverse("banking:refund_run_approve", args=[run.pk]),
                          {"execution_date": "2099-01-05", "transfers": [carla.pk]})
    downloaded = clerk.get(reverse("banking:refund_file", args=[run.pk]))

    assert proposed["Location"] == reverse("banking:refund_run_detail", args=[run.pk])
    assert "Carla Diaz" in page and "Add the IBAN" in page
    assert refused.status_code == 400
    assert "Execution date: Enter a valid date." in refused.content.decode()
    assert "Choose at least one refund." in refused.content.decode()
    assert approved.status_code == 302
    assert downloaded.status_code == 200
    assert downloaded["Content-Disposition"].startswith('attachment; filename="refunds-')
    assert downloaded.content.decode() == fresh(run).file


def test_staff_without_the_accountant_role_cannot_propose_approve_or_download(staff_client, ledger, paying, in_credit):
    run = propose_refunds(bank_account=paying, actor=None, at=AT)

    assert staff_client.get(reverse("banking:refund_run_detail", args=[run.pk])).status_code == 200
    assert staff_client.post(reverse("banking:refund_propose"), {"bank_account": paying.pk}).status_code == 403
    assert staff_client.post(reverse("banking:refund_run_approve", args=[run.pk]), {}).status_code == 403
    assert staff_client.get(reverse("banking:refund_file", args=[run.pk])).status_code == 403
    assert fresh(in_credit["carla"]).balance == D("-40.00")
    assert RefundTransfer.objects.filter(tenant=ledger, state=TransferState.SENT).count() == 0


def test_a_proposal_without_a_bank_account_or_a_file_before_approval_is_explained(ledger, paying, in_credit):
    clerk = logged_in(UserFactory(tenant=ledger, username="clerk", role_keys=[Role.STAFF, Role.ACCOUNTANT]))
    run = propose_refunds(bank_account=paying, actor=None, at=AT)

    no_account = clerk.post(reverse("banking:refund_propose"), {"bank_account": "x"}, follow=True)
    early = clerk.get(reverse("banking:refund_file", args=[run.pk]), follow=True)

    assert "Choose the bank account the refunds are paid from." in no_account.content.decode()
    assert early.redirect_chain == [(reverse("banking:refund_run_detail", args=[run.pk]), 302)]
    assert "The run is not approved yet: it has no transfer file." in early.content.decode()
