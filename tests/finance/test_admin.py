import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from finance.models import FinancialTransaction, TaxRate, TransactionLine
from tests.factories import InvoiceFactory, line
from tests.finance.conftest import AT, D

MODELS = ["taxrate", "product", "paymentmethod", "refundmethod", "category", "transactiontype", "rejectionreason",
          "duedaterule", "ledgerdefinition", "account", "financialtransaction", "allocation"]


def change_url(txn):
    return reverse("admin:finance_financialtransaction_change", args=[txn.pk])


def tamper(txn):
    return {"reference_number": "HACKED", "total_amount": "1.00", "back_office_code": "X", "state": "draft",
            "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "1", "lines-0-id": txn.lines.get().pk,
            "lines-0-unit_price": "1.00", "_save": "Save"}


@pytest.mark.django_db
class TestFinanceAdmin:
    @pytest.mark.parametrize("model", MODELS)
    def test_support_see_every_ledger_model_across_tenants(self, support_client, account, model):
        InvoiceFactory(account=account, price="10.00")

        response = support_client.get(reverse(f"admin:finance_{model}_changelist"))

        assert response.status_code == 200

    def test_a_posted_transaction_is_read_only_and_a_post_changes_nothing(self, support_client, account):
        invoice = InvoiceFactory(account=account, price="100.00")

        page = support_client.get(change_url(invoice))
        response = support_client.post(change_url(invoice), tamper(invoice))

        assert page.status_code == 200
        assert 'name="_save"' not in page.text
        assert response.status_code == 403
        with scopes_disabled():
            after = FinancialTransaction.objects.get(pk=invoice.pk)
            assert (after.reference_number, after.total_amount, after.back_office_code, after.state) == (
                invoice.reference_number, D("100.00"), "", "posted")
            assert TransactionLine.objects.get(transaction=invoice).unit_price == D("100.00")

    def test_a_draft_shows_every_field_read_only(self, support_client, account):
        from finance import services
        from finance.models import Classification

        draft = services.create_transaction(account=account, classification=Classification.INVOICE, actor=None, at=AT,
                                            data=services.TransactionData(lines=[line("10.00")]))

        support_client.post(change_url(draft), tamper(draft))

        with scopes_disabled():
            after = FinancialTransaction.objects.get(pk=draft.pk)
            assert (after.reference_number, after.total_amount, after.state) == (
                draft.reference_number, D("10.00"), "draft")

    def test_transactions_cannot_be_added_or_deleted(self, support_client, account):
        invoice = InvoiceFactory(account=account, price="100.00")

        add = support_client.get(reverse("admin:finance_financialtransaction_add"))
        delete = support_client.post(reverse("admin:finance_financialtransaction_delete", args=[invoice.pk]),
                                     {"post": "yes"})

        assert (add.status_code, delete.status_code) == (403, 403)
        with scopes_disabled():
            assert FinancialTransaction.objects.filter(pk=invoice.pk).exists()

    def test_support_edit_a_tax_rate(self, support_client, ledger):
        with scopes_disabled():
            rate = TaxRate.objects.get(tenant=ledger, name="Standard")

        response = support_client.post(reverse("admin:finance_taxrate_change", args=[rate.pk]),
                                       {"tenant": ledger.pk, "name": "Standard", "percent": "21"})

        assert response.status_code == 302
        with scopes_disabled():
            assert TaxRate.objects.get(pk=rate.pk).percent == D("21.000")

    def test_tenant_staff_cannot_reach_it(self, staff_client, account):
        invoice = InvoiceFactory(account=account, price="100.00")

        response = staff_client.get(change_url(invoice))

        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
