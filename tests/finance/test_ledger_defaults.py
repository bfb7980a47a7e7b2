"""A tenant's ledger configuration is created once, with the tenant; nothing creates it on the side."""

import pytest
from django_scopes import scope, scopes_disabled

from crm import services as crm_services
from finance.models import Account, LedgerDefinition, TransactionType
from finance.services.accounts import open_account
from finance.services.setup import set_up_ledgers_missing
from tests.factories import CustomerFactory, TenantFactory


@pytest.mark.django_db
class TestLedgerDefaults:
    def test_a_new_tenant_has_its_ledger_configuration(self):
        tenant = crm_services.create_tenant(name="Wayne Leasing", slug="wayne", country="GB", default_currency="GBP")

        with scope(tenant=tenant):
            definition = LedgerDefinition.objects.get()
            assert (definition.allocation_principle, definition.due_date_rule.name) == ("fifo", "30 days")
            assert sorted(TransactionType.objects.filter(is_default=True).values_list("name", flat=True)) == [
                "Credit note", "Invoice", "Invoice cancellation", "Payment", "Payment cancellation", "Refund",
                "Write-off"]

    def test_opening_an_account_does_not_create_it_on_the_side(self):
        tenant = TenantFactory()
        customer = CustomerFactory(tenant=tenant)

        with scope(tenant=tenant):
            open_account(customer=customer, currency="GBP")
            assert Account.objects.count() == 1
            assert not LedgerDefinition.objects.exists()

    def test_migrate_sets_it_up_for_a_tenant_from_before_and_leaves_the_others(self):
        before, configured = TenantFactory(), crm_services.create_tenant(name="Ace", slug="ace", country="GB")
        with scopes_disabled():
            kept = LedgerDefinition.objects.get(tenant=configured).pk

        set_up_ledgers_missing()
        set_up_ledgers_missing()

        with scopes_disabled():
            assert LedgerDefinition.objects.filter(tenant=before).count() == 1
            assert list(LedgerDefinition.objects.filter(tenant=configured).values_list("pk", flat=True)) == [kept]
