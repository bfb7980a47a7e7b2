"""Importing the sample statements and what each line becomes in the ledger."""

from datetime import date

import pytest
from django.db.models import Sum

from banking.models import LineState, MatchedBy, StatementLine
from banking.parsing import StatementRefused
from banking.services import decisions
from banking.services.imports import Upload
from banking.services.matching import book_line, tokens
from core.bank_codes import payment_code
from crm.models import AuditEntry
from finance.models import AccountKind, Classification, FinancialTransaction, PaymentMethod, TransactionState
from gateways.services import save_gateway_account
from paylinks.models import RequestStatus
from tests.banking.conftest import AT, D, run_import, sample
from tests.factories import CustomerFactory, PaymentRequestFactory

pytestmark = pytest.mark.django_db


def fresh(row):
    """The row as the database has it now (posted rows' FSM states cannot be refreshed in place)."""
    return type(row).objects.get(pk=row.pk)


def lines_by_reference(tenant) -> dict[str, StatementLine]:
    return {line.bank_reference: line for line in StatementLine.objects.filter(tenant=tenant)
            .select_related("payment__account")}


def suspense_balance(tenant):
    return FinancialTransaction.objects.filter(
        tenant=tenant, account__kind=AccountKind.SUSPENSE, state=TransactionState.POSTED,
        classification=Classification.PAYMENT).aggregate(total=Sum("total_amount"))["total"]


def test_the_camt053_sample_matches_suggests_parks_and_lists(ledger, bank_account, books):
    record = run_import(ledger, sample("camt053.xml"))

    # The fifth entry is pending at the bank: not booked money, so not a line.
    assert (record.format, record.lines_in_file, record.lines_added) == ("camt.053", 4, 4)
    lines = lines_by_reference(ledger)
    matched = lines["BANKREF0001"]
    assert (matched.state, matched.matched_by) == (LineState.MATCHED, MatchedBy.INVOICE)
    assert matched.payment.account == books["anna"]
    assert (matched.payment.total_amount, matched.payment.external_reference) == (D("150.00"), "BANKREF0001")
    books["first"] = fresh(books["first"])
    assert books["first"].open_amount == D("0.00")

    suggested = lines["BANKREF0002"]
    assert suggested.state == LineState.SUGGESTED
    assert suggested.payment.account.kind == AccountKind.SUSPENSE
    assert (suggested.suggested_account, suggested.suggested_invoice, suggested.confidence) == (
        books["bruno"], books["second"], 70)
    assert suggested.suggestion_reason == ("The payer's name is this customer's. The amount is exactly an open "
                                           "invoice's.")

    parked = lines["BANKREF0003"]
    assert (parked.state, parked.suggested_account, parked.confidence) == (LineState.SUSPENSE, None, 0)
    assert parked.payment.account.kind == AccountKind.SUSPENSE

    fee = lines["BANKREF0004"]
    assert (fee.state, fee.direction, fee.payment, fee.amount) == (LineState.DEBIT, "debit", None, D("12.50"))
    assert suspense_balance(ledger) == D("122.00")


def test_confirming_a_suggestion_moves_the_money_to_the_invoice_and_is_audited(ledger, bank_account, books, staff):
    run_import(ledger, sample("camt053.xml"))
    line = lines_by_reference(ledger)["BANKREF0002"]

    decided = decisions.confirm_suggestion(line=line, actor=staff, at=AT)

    assert (decided.state, decided.matched_by, decided.decided_by) == (LineState.MATCHED, MatchedBy.CONFIRMED, staff)
    assert decided.payment.account == books["bruno"]
    books["second"] = fresh(books["second"])
    books["bruno"] = fresh(books["bruno"])
    assert (books["second"].open_amount, books["bruno"].balance) == (D("0.00"), D("0.00"))
    assert suspense_balance(ledger) == D("122.00")  # the suspense payment stays, cancelled by its cancellation
    suspense = decided.payment.related.account
    suspense = fresh(suspense)
    assert suspense.balance == D("-42.00")  # only the unplaced 42.00 is left there
    entry = AuditEntry.objects.get(tenant=ledger, action="bank.confirmed")
    assert (entry.actor, entry.detail) == (staff, "to Invoice INV-000002")
    with pytest.raises(Exception, match="already decided"):
        decisions.confirm_suggestion(line=line, actor=staff, at=AT)


def test_move_to_account_places_a_suspense_payment_and_fifo_allocates_it(ledger, bank_account, books, staff):
    run_import(ledger, sample("camt053.xml"))
    line = lines_by_reference(ledger)["BANKREF0003"]

    decided = decisions.move_to_account(line=line, account=books["bruno"], actor=staff, at=AT)

    assert (decided.state, decided.matched_by, decided.payment.account) == (
        LineState.MATCHED, MatchedBy.MOVED, books["bruno"])
    books["second"] = fresh(books["second"])
    assert books["second"].open_amount == D("38.00")
    assert AuditEntry.objects.filter(tenant=ledger, action="bank.moved", actor=staff).count() == 1


def test_split_across_invoices_of_two_customers(ledger, bank_account, books, staff):
    run_import(ledger, sample("camt053.xml"))
    # The 80.00 pays 50.00 on Anna's (paid) invoice and 30.00 of Bruno's.
    line = lines_by_reference(ledger)["BANKREF0002"]

    decided = decisions.split_across_invoices(
        line=line, parts=[(books["first"], D("50.00")), (books["second"], D("30.00"))], actor=staff, at=AT)

    parts = decisions.payments_of(decided)
    assert sorted((p.account_id, p.total_amount) for p in parts) == sorted(
        [(books["anna"].pk, D("50.00")), (books["bruno"].pk, D("30.00"))])
    books["second"] = fresh(books["second"])
    assert books["second"].open_amount == D("50.00")
    anna = books["anna"]
    anna = fresh(anna)
    assert anna.balance == D("-50.00")  # INV-000001 was paid by the bank line already: 50.00 in credit


def test_a_split_that_does_not_add_up_is_refused_and_books_nothing(ledger, bank_account, books, staff):
    run_import(ledger, sample("camt053.xml"))
    line = lines_by_reference(ledger)["BANKREF0002"]
    before = FinancialTransaction.objects.filter(tenant=ledger).count()

    with pytest.raises(Exception, match=r"add up to €70.00; the payment is €80.00"):
        decisions.split_across_invoices(line=line, parts=[(books["second"], D("70.00"))], actor=staff, at=AT)

    line = fresh(line)
    assert line.state == LineState.SUGGESTED
    assert FinancialTransaction.objects.filter(tenant=ledger).count() == before


@pytest.mark.parametrize("name", ["camt053.xml", "statement.sta", "statement.ofx", "statement.csv"])
def test_the_same_statement_in_another_format_adds_nothing(ledger, bank_account, books, name):
    run_import(ledger, sample("camt053.xml"))
    payments = FinancialTransaction.objects.filter(tenant=ledger, classification=Classification.PAYMENT).count()

    again = run_import(ledger, sample(name), bank_account=bank_account)

    assert (again.lines_in_file, again.lines_added) == (4, 0)
    assert StatementLine.objects.filter(tenant=ledger).count() == 4
    assert FinancialTransaction.objects.filter(tenant=ledger, classification=Classification.PAYMENT).count() == payments


@pytest.mark.parametrize("name", ["statement.sta", "statement.ofx", "statement.csv"])
def test_each_format_books_the_same_lines(ledger, bank_account, books, name):
    run_import(ledger, sample(name), bank_account=bank_account)

    states = {ref: (line.state, line.amount) for ref, line in lines_by_reference(ledger).items()}
    assert states == {
        "BANKREF0001": (LineState.MATCHED, D("150.00")), "BANKREF0002": (LineState.SUGGESTED, D("80.00")),
        "BANKREF0003": (LineState.SUSPENSE, D("42.00")), "BANKREF0004": (LineState.DEBIT, D("12.50")),
    }


def test_a_returned_payment_cancels_the_payment_it_returns(ledger, bank_account, books):
    run_import(ledger, sample("camt053.xml"))
    original = lines_by_reference(ledger)["BANKREF0001"]

    run_import(ledger, sample("camt053_return.xml"))

    returned = lines_by_reference(ledger)["BANKREF0005"]
    assert (returned.state, returned.returns, returned.return_reason) == (LineState.RETURNED, original, "AC04")
    assert FinancialTransaction.objects.get(
        tenant=ledger, classification=Classification.PAYMENT_CANCELLATION, related=original.payment
    ).issue_note == "Returned by the bank (AC04)"
    books["first"] = fresh(books["first"])
    books["anna"] = fresh(books["anna"])
    assert (books["first"].open_amount, books["anna"].balance) == (D("150.00"), D("150.00"))


def test_a_camt054_names_a_payment_request_which_it_completes(ledger, bank_account, books):
    save_gateway_account(tenant=ledger, provider="sandbox", live=False, secret="sandbox-secret")
    request = PaymentRequestFactory(account=books["bruno"], amount=D("60.00"), reference="POL-2026-17")

    run_import(ledger, sample("camt054.xml"))

    line = lines_by_reference(ledger)["BANKREF0006"]
    assert (line.state, line.matched_by, line.payment.account) == (LineState.MATCHED, MatchedBy.REQUEST,
                                                                   books["bruno"])
    request = fresh(request)
    assert request.status == RequestStatus.COMPLETE
    assert request.events.get(action="paid_by_transfer").to_status == RequestStatus.COMPLETE


def test_a_customers_payment_code_books_on_their_account_and_an_excess_is_only_suggested(ledger, bank_account, books):
    code = payment_code(books["bruno"].customer_id)
    csv = ("Buchungstag;Betrag;Waehrung;Referenz;Name;IBAN;Verwendungszweck\n"
           f"03.12.2026;50,00;EUR;CODE-1;B. W.;;Ref {code}\n"
           f"03.12.2026;500,00;EUR;CODE-2;B. W.;;{code[:4]} {code[4:]}\n")

    run_import(ledger, Upload(data=csv.encode(), file_name="codes.csv"), bank_account=bank_account)

    lines = lines_by_reference(ledger)
    assert (lines["CODE-1"].state, lines["CODE-1"].matched_by, lines["CODE-1"].payment.account) == (
        LineState.MATCHED, MatchedBy.PAYMENT_CODE, books["bruno"])
    assert (lines["CODE-2"].state, lines["CODE-2"].suggested_account, lines["CODE-2"].confidence) == (
        LineState.SUGGESTED, books["bruno"], 80)


def test_an_amount_over_the_invoice_is_suggested_not_matched(ledger, bank_account, books):
    csv = ("Buchungstag;Betrag;Waehrung;Referenz;Name;IBAN;Verwendungszweck\n"
           "03.12.2026;200,00;EUR;OVER-1;Someone;;inv000001\n")

    run_import(ledger, Upload(data=csv.encode(), file_name="over.csv"), bank_account=bank_account)

    line = lines_by_reference(ledger)["OVER-1"]
    assert (line.state, line.suggested_invoice, line.confidence) == (LineState.SUGGESTED, books["first"], 80)


def test_re_booking_a_line_books_nothing_twice(ledger, bank_account, books):
    run_import(ledger, sample("camt053.xml"))
    line = lines_by_reference(ledger)["BANKREF0001"]

    again = book_line(tenant=ledger, line_id=line.pk, at=AT)

    assert again.payment == line.payment
    assert FinancialTransaction.objects.filter(tenant=ledger, classification=Classification.PAYMENT,
                                               external_reference="BANKREF0001").count() == 1


def test_lines_without_a_bank_reference_are_told_apart_by_occurrence(ledger, bank_account):
    csv = ("Buchungstag;Betrag;Waehrung;Referenz;Name;IBAN;Verwendungszweck\n"
           "03.12.2026;10,00;EUR;;Cash deposit;;coffee\n"
           "03.12.2026;10,00;EUR;;Cash deposit;;coffee\n")
    upload = Upload(data=csv.encode(), file_name="twice.csv")

    first = run_import(ledger, upload, bank_account=bank_account)
    second = run_import(ledger, upload, bank_account=bank_account)

    assert (first.lines_added, second.lines_added) == (2, 0)
    identities = sorted(StatementLine.objects.filter(tenant=ledger).values_list("identity", flat=True))
    assert [identity[-2:] for identity in identities] == [":1", ":2"]


def test_an_overlapping_file_adds_only_its_new_lines(ledger, bank_account, books):
    head = ("Buchungstag;Betrag;Waehrung;Referenz;Name;IBAN;Verwendungszweck\n"
            "01.12.2026;5,00;EUR;R-1;A;;x\n02.12.2026;6,00;EUR;R-2;A;;x\n")
    tail = ("Buchungstag;Betrag;Waehrung;Referenz;Name;IBAN;Verwendungszweck\n"
            "02.12.2026;6,00;EUR;R-2;A;;x\n03.12.2026;7,00;EUR;R-3;A;;x\n")

    run_import(ledger, Upload(data=head.encode(), file_name="a.csv"), bank_account=bank_account)
    second = run_import(ledger, Upload(data=tail.encode(), file_name="b.csv"), bank_account=bank_account)

    assert second.lines_added == 1
    assert sorted(StatementLine.objects.filter(tenant=ledger).values_list("bank_reference", flat=True)) == [
        "R-1", "R-2", "R-3"]


def test_a_malformed_file_is_refused_whole_naming_the_line(ledger, bank_account):
    with pytest.raises(StatementRefused) as refused:
        run_import(ledger, sample("camt053_malformed.xml"))

    assert str(refused.value) == "Line 13: the amount 'ten euros' is not a number."
    assert StatementLine.objects.filter(tenant=ledger).count() == 0


def test_external_entities_are_never_resolved(ledger, bank_account):
    with pytest.raises(StatementRefused) as refused:
        run_import(ledger, sample("camt053_external_entity.xml"))

    assert str(refused.value) == "Line 1: a statement may not declare a document type (DTD)."
    assert StatementLine.objects.filter(tenant=ledger).count() == 0


def test_a_file_in_another_currency_is_refused(ledger, bank_account):
    csv = ("Buchungstag;Betrag;Waehrung;Referenz;Name;IBAN;Verwendungszweck\n"
           "01.12.2026;5,00;EUR;R-1;A;;x\n01.12.2026;5,00;USD;R-2;A;;x\n")

    with pytest.raises(StatementRefused) as refused:
        run_import(ledger, Upload(data=csv.encode(), file_name="usd.csv"), bank_account=bank_account)

    assert str(refused.value) == ("Line 3: the line is in USD; the bank account Main account "
                                  "(DE89370400440532013000) is in EUR.")
    assert StatementLine.objects.filter(tenant=ledger).count() == 0


def test_a_file_for_an_unknown_iban_is_refused(ledger, bank_account):
    data = sample("camt053.xml").data.replace(b"DE89370400440532013000", b"GB33BUKB20201555555555")

    with pytest.raises(StatementRefused) as refused:
        run_import(ledger, Upload(data=data, file_name="other.xml"))

    assert str(refused.value) == ("the file is for the account GB33BUKB20201555555555, which is not one of your "
                                  "bank accounts.")


def test_a_file_over_the_limit_is_refused_unread(ledger, bank_account, settings):
    settings.DULY_BANK_FILE_MAX_BYTES = 1_000_000

    with pytest.raises(StatementRefused, match=r"the file is 1.5 MB; at most 1 MB is accepted."):
        run_import(ledger, Upload(data=b" " * 1_500_000, file_name="big.xml"))


def test_remittance_words_are_read_as_references():
    assert tokens("Invoice INV000123, thanks; inv 7 (RF18 5390 0754 7034)") == [
        "INVOICE", "INV000123", "INV-000123", "THANKS", "INV", "INV-7", "7", "RF18", "RF185390", "RF1853900754",
        "RF18539007547034", "5390", "0754", "7034"]


def test_another_tenants_invoice_number_is_not_matched(ledger, bank_account, books, other_tenant):
    from django_scopes import scopes_disabled

    from finance.services import open_account, set_up_ledger
    from tests.factories import InvoiceFactory

    with scopes_disabled():
        set_up_ledger(tenant=other_tenant)
        theirs = open_account(customer=CustomerFactory(tenant=other_tenant), currency="EUR")
        InvoiceFactory(account=theirs, price="7.00")  # their INV-000001
    csv = ("Buchungstag;Betrag;Waehrung;Referenz;Name;IBAN;Verwendungszweck\n"
           "03.12.2026;7,00;EUR;X-1;Someone;;INV-000001\n")

    run_import(ledger, Upload(data=csv.encode(), file_name="x.csv"), bank_account=bank_account)

    line = lines_by_reference(ledger)["X-1"]
    assert line.payment.account == books["anna"]  # our INV-000001 (7.00 fits its 150.00)
    assert line.payment.account.tenant == ledger


def test_lines_are_booked_in_the_order_the_bank_booked_them(ledger, bank_account, books):
    run_import(ledger, sample("camt053.xml"))
    booked = list(StatementLine.objects.filter(tenant=ledger, direction="credit").order_by("payment__posted_at",
                                                                                          "payment__id"))
    assert [line.booked_on for line in booked] == [date(2026, 12, 1), date(2026, 12, 1), date(2026, 12, 2)]


def test_what_the_booking_writes_down_is_in_the_tenants_language(ledger, bank_account, books):
    ledger.locale = "es"
    ledger.save(update_fields=["locale"])
    # As a Spanish tenant's ledger names its default method.
    PaymentMethod.objects.filter(tenant=ledger, name="Bank transfer").update(name="Transferencia bancaria")

    run_import(ledger, sample("camt053.xml"))

    assert lines_by_reference(ledger)["BANKREF0002"].suggestion_reason == (
        "El nombre del pagador es el de este cliente. El importe es exactamente el de una factura abierta.")


def test_a_batch_entry_becomes_one_line_per_transaction(ledger, bank_account, books):
    batch = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>
  <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
  <Ntry><Amt Ccy="EUR">230.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-12-03</Dt></BookgDt><AcctSvcrRef>BATCH-7</AcctSvcrRef>
    <NtryDtls>
      <TxDtls><Amt Ccy="EUR">150.00</Amt><RmtInf><Ustrd>INV-000001</Ustrd></RmtInf></TxDtls>
      <TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">80.00</Amt></TxAmt></AmtDtls>
        <RmtInf><Ustrd>INV-000002</Ustrd></RmtInf></TxDtls>
    </NtryDtls>
  </Ntry>
</Stmt></BkToCstmrStmt></Document>"""

    run_import(ledger, Upload(data=batch, file_name="batch.xml"))

    lines = lines_by_reference(ledger)
    assert {ref: (line.amount, line.state, line.payment.account) for ref, line in lines.items()} == {
        "BATCH-7/1": (D("150.00"), LineState.MATCHED, books["anna"]),
        "BATCH-7/2": (D("80.00"), LineState.MATCHED, books["bruno"]),
    }


def test_a_csv_without_a_currency_column_is_in_the_bank_accounts_currency(ledger, bank_account):
    bank_account.csv_mapping = {"columns": {"date": "date", "amount": "amount", "reference": "ref"}}
    bank_account.save()

    run_import(ledger, Upload(data=b"date,amount,ref\n2026-12-03,12.00,C-1\n", file_name="c.csv"),
               bank_account=bank_account)

    assert StatementLine.objects.get(tenant=ledger, bank_reference="C-1").currency == "EUR"
