"""Test data. Factories derive ``tenant`` from their parent, so test data cannot mix tenants by accident."""

from contextlib import nullcontext
from datetime import UTC, date, datetime
from decimal import Decimal

import factory
from django.contrib.auth.hashers import make_password
from django_scopes import scope, scopes_disabled

from crm import services
from crm.models import Customer, Role, Tenant, User

PASSWORD = "correct-horse-battery"
AT = datetime(2026, 5, 20, 10, 0, tzinfo=UTC)


class RowFactory(factory.django.DjangoModelFactory):
    """Writes each row inside its own tenant's scope, as Duly would: row-level security refuses a row
    of another tenant than the scope's, whatever fixture scope the test has open around it."""

    class Meta:
        abstract = True

    @classmethod
    def _generate(cls, strategy, params):
        if strategy != factory.CREATE_STRATEGY:
            context = nullcontext()
        elif isinstance(params.get("tenant"), Tenant):
            context = scope(tenant=params["tenant"])
        else:
            context = scopes_disabled()
        with context:
            return super()._generate(strategy, params)


class TenantFactory(RowFactory):
    class Meta:
        model = Tenant
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")
    country = "GB"
    time_zone = "Europe/London"
    default_currency = "GBP"
    locale = "en"

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create:
            from django_scopes import scope

            with scope(tenant=self):
                services.ensure_default_roles(tenant=self)


class UserFactory(RowFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Sam"
    last_name = factory.Sequence(lambda n: f"Staff{n}")
    password = factory.LazyFunction(lambda: make_password(PASSWORD))

    @factory.post_generation
    def role_keys(self, create, extracted, **kwargs):
        if create and self.tenant_id:
            services.set_roles(user=self, role_keys=extracted or [Role.STAFF])


class SupportUserFactory(UserFactory):
    tenant = None
    is_staff = True
    is_superuser = True


class CustomerFactory(RowFactory):
    class Meta:
        model = Customer

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Customer {n:03d}")
    email = factory.LazyAttribute(lambda c: f"{c.name.lower().replace(' ', '.')}@example.com")
    phone = "+447911123456"
    city = "London"
    country = "GB"
    language = "en"


# --- the ledger: rows made by its services, so each one is posted, numbered and allocated as Duly would ---


class ServiceFactory(factory.Factory):
    """A factory whose rows a service of Duly's makes (``_make``), inside their tenant's scope: the ledger's
    rules live in its services and the database, so tests build ledger rows the way the application does."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        tenant = cls._tenant(kwargs)
        with scope(tenant=tenant):
            return cls._make(**kwargs)

    @classmethod
    def _tenant(cls, kwargs) -> Tenant:
        return kwargs["account"].tenant


class AccountFactory(ServiceFactory):
    class Meta:
        model = "finance.Account"

    customer = factory.SubFactory(CustomerFactory)
    currency = "GBP"
    credit_limit = "0"

    @classmethod
    def _tenant(cls, kwargs) -> Tenant:
        return kwargs["customer"].tenant

    @classmethod
    def _make(cls, *, customer, currency, credit_limit):
        from finance import services as ledger

        return ledger.open_account(customer=customer, currency=currency, credit_limit=credit_limit)


def _method(model_name: str, name: str):
    def method(row):
        from django.apps import apps

        return apps.get_model("finance", model_name).objects.get(tenant=row.account.tenant_id, name=name)

    return factory.LazyAttribute(method)


class PostedFactory(ServiceFactory):
    """A posted ledger transaction of ``classification``: drafted and posted with the ledger's services."""

    class Meta:
        abstract = True

    account = factory.SubFactory(AccountFactory)
    at = AT
    actor = None

    @classmethod
    def _make(cls, *, account, at, actor, classification, **data):
        from finance import services as ledger

        draft = ledger.create_transaction(account=account, classification=classification, actor=actor, at=at,
                                          data=ledger.TransactionData(**cls._data(**data)))
        return ledger.post_transaction(txn=draft, actor=actor, at=at).transaction


def line(price, *, quantity="1", description="Service", **kwargs):
    """An invoice or credit-note line: ``quantity`` × ``price``, with any other ``LineData`` field."""
    from finance import services as ledger

    return ledger.LineData(description=description, quantity=Decimal(quantity), unit_price=Decimal(price), **kwargs)


class InvoiceFactory(PostedFactory):
    """``InvoiceFactory(account=..., price="100.00")``: one line of that price, due by the ledger's rule
    unless ``due_on`` is given."""

    class Meta:
        model = "finance.FinancialTransaction"

    classification = "invoice"
    price = "100.00"
    due_on = None

    @classmethod
    def _data(cls, *, price, due_on):
        return {"lines": [line(price)], "due_on": due_on}


class CreditNoteFactory(PostedFactory):
    class Meta:
        model = "finance.FinancialTransaction"

    classification = "credit_note"
    price = "10.00"
    targets = ()

    @classmethod
    def _data(cls, *, price, targets):
        return {"lines": [line(price)], "targets": targets}


class PaymentFactory(PostedFactory):
    """A ledger payment, allocated by the ledger's rule or to ``targets``; paid by card unless ``method``."""

    class Meta:
        model = "finance.FinancialTransaction"

    classification = "payment"
    amount = "100.00"
    method = _method("PaymentMethod", "Card")
    targets = ()

    @classmethod
    def _data(cls, *, amount, method, targets):
        return {"amount": Decimal(amount), "payment_method": method, "targets": targets}


# --- gateway payments, pay links and obligations --------------------------------------------------------


class GatewayPaymentFactory(RowFactory):
    """A pending payment at a provider (its checkout opened), for ``account`` through ``gateway_account``."""

    class Meta:
        model = "payments.GatewayPayment"

    account = factory.SubFactory(AccountFactory)
    tenant = factory.SelfAttribute("account.tenant")
    gateway_account = None
    provider = factory.SelfAttribute("gateway_account.provider")
    provider_reference = "cs_test_a1B2c3"
    reference = factory.LazyAttribute(lambda p: f"dp_{p.provider_reference}")
    invoice = None
    amount = "120.00"
    currency = factory.SelfAttribute("account.currency")
    mode = "hosted_page"
    description = "Broker fee"
    created_at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    updated_at = factory.SelfAttribute("created_at")

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        return kwargs | {"amount": Decimal(kwargs["amount"])}


class PaymentRequestFactory(ServiceFactory):
    """A payment request sent by email through the outbox, as staff send it; ``token`` is not kept (use
    ``request_payment`` where a test opens the link)."""

    class Meta:
        model = "paylinks.PaymentRequest"

    account = factory.SubFactory(AccountFactory)
    actor = None
    at = AT
    amount = "120.00"
    reference = "INV-42"
    message = "Deposit for the Corolla"
    channels = ("email",)
    invoice = None

    @classmethod
    def _make(cls, *, account, actor, at, amount, reference, message, channels, invoice):
        from paylinks.services.requests import RequestData, request_payment

        request, _token = request_payment(
            customer=account.customer, account=account, actor=actor, at=at, invoice=invoice,
            data=RequestData(amount=amount, reference=reference, message=message, channels=list(channels)))
        return request


class ObligationFactory(ServiceFactory):
    """An obligation of ``customer`` split automatically (``count`` monthly instalments from ``first``) or by
    ``rows`` (``plan="manual"``)."""

    class Meta:
        model = "obligations.Obligation"

    customer = factory.SubFactory(CustomerFactory)
    actor = None
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    send_email = False
    plan = "automatic"
    total = "300.00"
    count = 3
    first = date(2026, 4, 1)
    amount = None
    rows = ()
    currency = "GBP"
    description = "Road tax 2026"
    manager_comments = ""

    @classmethod
    def _tenant(cls, kwargs) -> Tenant:
        return kwargs["customer"].tenant

    @classmethod
    def _make(cls, *, customer, actor, at, send_email, plan, total, count, first, amount, rows, currency,
              description, manager_comments):
        from obligations.services.obligations import ObligationData, Plan, create_obligation

        return create_obligation(
            customer=customer, actor=actor, at=at, send_email=send_email,
            plan=Plan(kind=plan, first_due_on=first, count=count, instalment_amount=amount, rows=rows),
            data=ObligationData(payee="DVLA", payee_kind="government", payment_code="RT-2026-0042",
                                description=description, total_amount=total, currency=currency, date_rule="next",
                                manager_comments=manager_comments),
        )
