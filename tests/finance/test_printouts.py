import csv
import io

import openpyxl
import pypdf
import pytest
from django.urls import reverse
from django_scopes import scope

from finance import printing, services
from finance.models import Classification, IssueReason, TaxRate, TransactionType
from notifications.models import Notification
from tests.factories import InvoiceFactory, PaymentFactory, line
from tests.finance.conftest import AT, D
from tests.helpers import assert_404_for_other_tenant


def printout_url(txn, query=""):
    return reverse("finance:transaction_printout", args=[txn.pk]) + query


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def invoice(account, ledger):
    standard = TaxRate.objects.get(tenant=ledger, name="Standard")
    draft = services.create_transaction(account=account, classification=Classification.INVOICE, actor=None, at=AT,
                                        data=services.TransactionData(lines=[
            line("100.00", quantity="2", description="Annual policy review", tax_rate=standard,
                 discount_percent=D("10")),
            line("45.50", description="Document handling"),
        ]))
    return services.post_transaction(txn=draft, actor=None, at=AT).transaction


@pytest.mark.django_db
class TestInvoicePrintout:
    def test_the_pdf_carries_number_lines_and_totals(self, invoice, staff_client):
        response = staff_client.get(printout_url(invoice, "?format=pdf"))

        text = pdf_text(response.content)
        assert response["Content-Type"] == "application/pdf"
        assert "INVOICE" in text.upper() and invoice.number in text
        assert "Annual policy review" in text and "Document handling" in text
        assert "Acme Brokers" in text and "Harriet Holloway" in text
        # 2 × 100.00 − 10 % = 180.00 + 20 % tax 36.00; 45.50 untaxed: net 245.50, discount 20.00, tax 36.00
        for figure in ("€245.50", "€20.00", "€36.00", "€261.50", "€216.00"):
            assert figure in text, figure

    def test_the_html_printout_uses_the_shared_print_stylesheet(self, invoice, staff_client):
        response = staff_client.get(printout_url(invoice))

        content = response.content.decode()
        assert "duly/print.css" in content and 'id="doc-number">' + invoice.number in content

    def test_amounts_follow_the_tenants_locale(self, invoice, staff_client, tenant):
        tenant.locale = "de"
        tenant.save()

        content = staff_client.get(printout_url(invoice)).content.decode()

        assert "261,50\xa0€" in content

    def test_another_tenants_printout_pdf_and_send_are_404(self, invoice, other_client):
        assert_404_for_other_tenant(other_client, printout_url(invoice))
        assert_404_for_other_tenant(other_client, printout_url(invoice, "?format=pdf"))
        assert_404_for_other_tenant(other_client, reverse("finance:transaction_printout_send", args=[invoice.pk]),
                                    method="post")

    def test_a_refund_has_no_printout(self, account, card_refund, staff_client):
        refund = services.refund(account=account, amount="5.00", refund_method=card_refund, actor=None,
                                 at=AT).transaction

        assert staff_client.get(printout_url(refund)).status_code == 404


@pytest.mark.django_db
class TestOtherPrintouts:
    def test_a_cancellation_prints_the_cancelled_invoices_lines(self, invoice, staff_client):
        cancellation = services.cancel_invoice(invoice=invoice, actor=None, at=AT)

        text = pdf_text(staff_client.get(printout_url(cancellation, "?format=pdf")).content)

        assert cancellation.number in text and invoice.number in text
        assert "Annual policy review" in text and "€261.50" in text

    def test_a_credit_note(self, account, staff_client):
        draft = services.create_transaction(
            account=account,
            classification=Classification.CREDIT_NOTE,
            actor=None,
            at=AT,
            data=services.TransactionData(lines=[line("12.00", description="Goodwill")]),
        )
        note = services.post_transaction(txn=draft, actor=None, at=AT).transaction

        text = pdf_text(staff_client.get(printout_url(note, "?format=pdf")).content)

        assert note.number in text and "Goodwill" in text and "€12.00" in text

    def test_a_payment_shows_what_it_paid(self, invoice, account, card, staff_client):
        payment = PaymentFactory(account=account, amount="100.00", method=card)

        content = staff_client.get(printout_url(payment)).content.decode()

        assert payment.number in content and invoice.number in content and "€100.00" in content


@pytest.mark.django_db
class TestSendPrintout:
    def test_emails_the_customer_a_link_that_opens_the_printout(self, invoice, staff_client, client, tenant):
        response = staff_client.post(reverse("finance:transaction_printout_send", args=[invoice.pk]))

        with scope(tenant=tenant):
            sent = Notification.objects.get()
        link = next(word for word in sent.body.split() if "/finance/p/" in word)
        assert response.status_code == 302
        assert sent.recipient == invoice.account.customer.email
        assert sent.subject == f"Invoice {invoice.number} from Acme Brokers"
        public = client.get(link)
        assert public.status_code == 200 and invoice.number in public.content.decode()
        assert client.get(link + "?format=pdf")["Content-Type"] == "application/pdf"

    def test_a_forged_or_altered_link_is_404(self, invoice, client):
        token = printing.printout_token(tenant_id=invoice.tenant_id, transaction_id=invoice.pk)

        assert client.get(reverse("finance:printout_public", args=[token[:-2] + "xx"])).status_code == 404
        assert client.get(reverse("finance:printout_public", args=["nonsense"])).status_code == 404

    def test_a_token_of_another_tenant_does_not_reach_this_tenants_document(self, invoice, other_tenant, client):
        token = printing.printout_token(tenant_id=other_tenant.pk, transaction_id=invoice.pk)

        assert client.get(reverse("finance:printout_public", args=[token])).status_code == 404

    def test_a_draft_is_not_sent(self, account, staff_client, tenant):
        draft = services.create_transaction(account=account, classification=Classification.INVOICE, actor=None, at=AT,
                                            data=services.TransactionData(lines=[line("5.00")]))

        staff_client.post(reverse("finance:transaction_printout_send", args=[draft.pk]))

        with scope(tenant=tenant):
            assert Notification.objects.count() == 0


@pytest.mark.django_db
class TestTransactionExports:
    def test_csv_xlsx_and_rtf_of_the_filtered_list(self, account, card, staff_client):
        invoice = InvoiceFactory(account=account, price="30.00")
        PaymentFactory(account=account, amount="10.00", method=card)
        base = reverse("finance:transaction_export", args=["csv"])

        rows = list(csv.reader(io.StringIO(staff_client.get(base + "?classification=invoice").content.decode())))
        sheet = openpyxl.load_workbook(io.BytesIO(staff_client.get(
            reverse("finance:transaction_export", args=["xlsx"])).content)).active
        rtf = staff_client.get(reverse("finance:transaction_export", args=["rtf"])).content.decode()

        assert rows[0][:3] == ["Number", "Reference", "Classification"]
        assert [(r[0], r[14]) for r in rows[1:]] == [(invoice.number, "30.00")]
        assert sheet.max_row == 3
        assert rtf.startswith("{\\rtf1") and invoice.number in rtf

    def test_exports_show_only_the_tenants_rows(self, account, other_client):
        InvoiceFactory(account=account, price="30.00")

        rows = list(csv.reader(io.StringIO(other_client.get(
            reverse("finance:transaction_export", args=["csv"])).content.decode())))

        assert rows == [rows[0]]

    @pytest.mark.parametrize("fmt", ["csv", "xlsx", "rtf"])
    def test_another_tenants_account_or_customer_is_404(self, account, other_client, fmt):
        InvoiceFactory(account=account, price="30.00")
        url = reverse("finance:transaction_export", args=[fmt])

        assert_404_for_other_tenant(other_client, url + f"?account={account.pk}")
        assert_404_for_other_tenant(other_client, url + f"?customer={account.customer_id}")


@pytest.mark.django_db
class TestIssueReasonsAndTotalWithoutTaxOnPrintouts:
    def test_an_invoice_prints_its_total_without_tax_between_discount_and_tax(self, invoice, staff_client):
        content = staff_client.get(printout_url(invoice)).content.decode()
        text = pdf_text(staff_client.get(printout_url(invoice, "?format=pdf")).content)

        # net 245.50 − discount 20.00
        assert '<tr id="doc-without-tax"><th>Total without tax</th><td>€225.50</td></tr>' in content
        assert "Discount €20.00\nTotal without tax €225.50\nTax €36.00" in text

    def test_a_cancellation_prints_its_type_and_issue_reason(self, invoice, staff_client, ledger):
        returned = TransactionType.objects.create(tenant=ledger, classification=Classification.INVOICE_CANCELLATION,
                                                  name="Goods returned")
        reason = IssueReason.objects.get(tenant=ledger, text="Goods returned")
        cancellation = services.cancel_invoice(invoice=invoice, actor=None, at=AT, type=returned, issue_reason=reason)

        content = staff_client.get(printout_url(cancellation)).content.decode()

        assert '<dt>Type</dt><dd id="doc-type">Goods returned</dd>' in content
        assert '<dt>Issue reason</dt><dd id="doc-issue-reason">Goods returned</dd>' in content
        assert '<tr id="doc-without-tax"><th>Total without tax</th><td>€225.50</td></tr>' in content

    def test_a_credit_note_prints_its_issue_reason(self, account, staff_client, ledger):
        goodwill = IssueReason.objects.get(tenant=ledger, text="Goodwill gesture")
        draft = services.create_transaction(
            account=account,
            classification=Classification.CREDIT_NOTE,
            actor=None,
            at=AT,
            data=services.TransactionData(lines=[line("12.00", description="Goodwill")], issue_reason=goodwill),
        )

        text = pdf_text(staff_client.get(printout_url(draft, "?format=pdf")).content)

        assert "Issue reason Goodwill gesture" in text
