import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from banking.models import BankAccount, StatementLine
from crm import services as crm_services
from crm.models import Customer, Tenant, User
from finance import services as ledger
from finance.models import Account, Allocation, Classification, FinancialTransaction, Lender
from gateways.models import GatewayAccount
from notifications.models import Notification
from obligations.models import Instalment, Obligation
from obligations.services.obligations import AUTOMATIC, ObligationData, Plan, create_obligation
from paylinks.models import PaymentRequest


def users_plan(customer):
    """An obligation the user registered, as the demo's own are: two instalments from 40 days on."""
    return create_obligation(
        customer=customer, actor=None, at=timezone.now(), reason="user",
        plan=Plan(kind=AUTOMATIC, count=2, first_due_on=timezone.localdate() + timedelta(days=40)),
        data=ObligationData(payee_kind="government", payee="Revenue office", payment_code="USER-1",
                            description="User's plan", total_amount="300.00", currency="GBP"),
    )


def counts():
    with scopes_disabled():
        return {model.__name__: model.objects.count()
                for model in (Tenant, User, Customer, Lender, Account, FinancialTransaction, Allocation,
                              GatewayAccount, BankAccount, StatementLine)}


@pytest.mark.django_db
class TestSeedDemo:
    def test_loads_the_demo_once_however_often_it_runs(self):
        call_command("seed_demo", history=0, stdout=io.StringIO())
        first = counts()

        output = io.StringIO()
        call_command("seed_demo", history=0, stdout=output)

        assert counts() == first
        # Each tenant's first customer has a procuration fee on its lender's account besides its own.
        # The bank statement (Acme's and Northwind's, five lines each) books four payments each, on the
        # customers' accounts or the suspense account; it is imported once however often the demo runs.
        # Acme's monthly policy fee has issued this month's invoice, once.
        assert first == {"Tenant": 3, "User": 5, "Customer": 9, "Lender": 3, "Account": 14, "FinancialTransaction": 36,
                         "Allocation": 12, "GatewayAccount": 3, "BankAccount": 2, "StatementLine": 10}
        assert "alice / duly-demo-2026" in output.getvalue() and "pilar / duly-demo-2026" in output.getvalue()


def user_records():
    """What the user made in the demo tenant: their customers with every account, transaction and plan."""
    with scopes_disabled():
        customers = Customer.objects.filter(name__startswith="Aaron")
        return {
            "customers": sorted(customers.values_list("name", "email", "phone")),
            "accounts": sorted(
                Account.objects.filter(customer__in=customers).values_list("customer__name", "currency")
            ),
            "transactions": sorted(
                FinancialTransaction.objects.filter(account__customer__in=customers)
                .values_list("account__customer__name", "classification", "state", "total_amount", "open_amount")
            ),
            "obligations": sorted(
                Obligation.objects.filter(customer__in=customers).values_list("payment_code", "total_amount")
            ),
        }


@pytest.mark.django_db
class TestSeedDemoLeavesTheUsersRecordsAlone:
    def test_a_second_run_touches_only_the_demos_own_records(self):
        call_command("seed_demo", history=0, stdout=io.StringIO())
        demo = counts()
        with scopes_disabled():
            acme = Tenant.objects.get(slug="acme")
            with scope(tenant=acme):
                # Named to sort before every demo customer, which is where the loader used to look.
                bare = crm_services.create_customer(tenant=acme, actor=None, data=crm_services.CustomerData(
                                                    name="Aaron Abbott", email="aaron@user.example", country="GB"))
                billed = crm_services.create_customer(tenant=acme, actor=None, data=crm_services.CustomerData(
                                                      name="Aaron Baxter", email="baxter@user.example", country="GB"))
                account = ledger.open_account(customer=billed, currency="GBP")
                invoice = ledger.create_transaction(
                    account=account,
                    classification=Classification.INVOICE,
                    actor=None,
                    at=timezone.now(),
                    data=ledger.TransactionData(
                        lines=[ledger.LineData("User's own work", Decimal(1), Decimal("70.00"))]
                    ),
                )
                ledger.post_transaction(txn=invoice, actor=None, at=timezone.now())
                users_plan(billed)
        before = user_records()
        assert before["accounts"] == [("Aaron Baxter", "GBP")]
        with_user = counts()

        call_command("seed_demo", history=0, stdout=io.StringIO())
        call_command("seed_demo", history=0, stdout=io.StringIO())

        assert user_records() == before
        assert counts() == with_user
        assert with_user["Customer"] == demo["Customer"] + 2
        with scopes_disabled():
            assert not Account.objects.filter(customer=bare).exists()
            assert Obligation.objects.filter(customer__tenant=acme).count() == 2
            harriet = Customer.objects.get(tenant=acme, name="Harriet Holloway")
            assert Obligation.objects.filter(customer=harriet).count() == 1
            # The demo's four, the payment of the bank transfer that names her open invoice, and this month's
            # invoice of her monthly policy fee.
            assert FinancialTransaction.objects.filter(account__customer=harriet).count() == 6

    def test_a_tenant_holding_only_the_users_plans_still_gets_the_demo_plan(self):
        call_command("seed_demo", history=0, stdout=io.StringIO())
        with scopes_disabled():
            acme = Tenant.objects.get(slug="acme")
            harriet = Customer.objects.get(tenant=acme, name="Harriet Holloway")
            Obligation.objects.filter(customer=harriet).delete()
            with scope(tenant=acme):
                user = crm_services.create_customer(tenant=acme, actor=None, data=crm_services.CustomerData(
                                                    name="Aaron Abbott", email="aaron@user.example", country="GB"))
                users_plan(user)

        call_command("seed_demo", history=0, stdout=io.StringIO())

        with scopes_disabled():
            assert list(Obligation.objects.filter(customer=harriet).values_list("total_amount", flat=True)) == [
                Decimal("1000.00")]
            assert list(Obligation.objects.filter(customer=user).values_list("payment_code", flat=True)) == ["USER-1"]


@pytest.mark.django_db
class TestAYearOfHistory:
    """``make run`` seeds a few hundred customers with a year of business (``--history 1``); here a twentieth of
    it, which has every shape the full one has."""

    def test_a_year_of_every_kind_of_record_once_however_often_it_runs(self):
        call_command("seed_demo", history=0.05, stdout=io.StringIO())
        first = counts()
        call_command("seed_demo", history=0.05, stdout=io.StringIO())

        assert counts() == first
        with scopes_disabled():
            acme = Tenant.objects.get(slug="acme")
            history = Customer.objects.filter(tenant=acme, notes="Demo history")
            assert history.count() == 10
            rows = FinancialTransaction.objects.filter(account__customer__in=history)
            kinds = set(rows.values_list("classification", flat=True))
            assert {Classification.INVOICE, Classification.PAYMENT, Classification.CREDIT_NOTE} <= kinds
            posted = rows.filter(classification=Classification.INVOICE).values_list("posted_at", flat=True)
            assert (timezone.now() - min(posted)).days > 300  # a year back
            overdue = rows.filter(classification=Classification.INVOICE, open_amount__gt=0,
                                  due_on__lt=timezone.localdate())
            assert overdue.exists()
            assert set(PaymentRequest.objects.filter(customer__in=history).values_list("status", flat=True)) == {
                "open", "complete", "expired", "cancelled"}
            assert Notification.objects.filter(customer__in=history).exists()  # the requests' emails
            instalments = Instalment.objects.filter(obligation__customer__in=history)
            assert instalments.filter(status="paid").count() == 2
            assert instalments.filter(status="unpaid", due_on__lt=timezone.localdate()).exists()  # overdue

    def test_no_history_leaves_only_the_named_customers(self):
        call_command("seed_demo", history=0, stdout=io.StringIO())

        with scopes_disabled():
            assert not Customer.objects.filter(notes="Demo history").exists()
