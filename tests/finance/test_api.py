import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from finance import services
from finance.models import (
    Account,
    AccountKind,
    Classification,
    FinancialTransaction,
    IssueReason,
    PaymentMethod,
    RefundMethod,
    RejectionReason,
    TaxRate,
    TransactionState,
    TransactionType,
)
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory, line
from tests.finance.conftest import AT, D, default_type
from tests.helpers import assert_404_for_other_tenant


def post_json(client, url, data=None):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json")


def patch_json(client, url, data):
    return client.patch(url, data=json.dumps(data), content_type="application/json")


def eur(amount):
    return {"amount": amount, "currency": "EUR"}


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


@pytest.fixture
def theirs(other_tenant, other_customer):
    """Another tenant's ledger: an account, a payment method, a refund method, a reason, a tax rate."""
    with scope(tenant=other_tenant):
        services.set_up_ledger(tenant=other_tenant)
        return {
            "account": services.open_account(customer=other_customer, currency="EUR"),
            "payment_method": PaymentMethod.objects.get(tenant=other_tenant, name="Card"),
            "refund_method": RefundMethod.objects.get(tenant=other_tenant, name="Card refund"),
            "reason": RejectionReason.objects.get(tenant=other_tenant, text="Duplicate"),
            "tax_rate": TaxRate.objects.get(tenant=other_tenant, name="Standard"),
        }


def draft_invoice(account, price="10.00"):
    return services.create_transaction(account=account, classification=Classification.INVOICE, actor=None, at=AT,
                                       data=services.TransactionData(lines=[line(price)]))


@pytest.mark.django_db
class TestAccountsApi:
    def test_opens_an_account_for_a_customer(self, api_client, ledger, customer):
        response = post_json(api_client, "/api/v1/accounts",
                             {"customer": customer.pk, "currency": "EUR", "credit_limit": "250.00"})

        assert response.status_code == 201
        body = response.json()
        account = Account.objects.get(pk=body["id"])
        assert account.customer == customer
        assert body["balance"] == eur("0.00")
        assert body["credit_limit"] == eur("250.00")
        assert body["state"] == "active"

    @pytest.mark.parametrize(
        ("payload", "errors"),
        [
            ({"currency": "XXX", "credit_limit": "1"},
             [{"field": "currency", "message": "Currency must be one of EUR, GBP, USD, PAB, AUD, CAD."}]),
            ({"currency": "EUR", "credit_limit": "-1"},
             [{"field": "credit_limit",
               "message": "The credit limit must be an amount of zero or more, with at most two decimals."}]),
        ],
    )
    def test_bad_input_names_the_field_and_opens_nothing(self, api_client, ledger, customer, payload, errors):
        response = post_json(api_client, "/api/v1/accounts", {"customer": customer.pk, **payload})

        assert response.status_code == 422
        assert response.json() == {"detail": "Invalid input.", "errors": errors}
        assert Account.objects.count() == 0

    def test_another_tenants_customer_is_not_found_in_the_payload(self, other_api_client, customer, in_tenant):
        response = post_json(other_api_client, "/api/v1/accounts", {"customer": customer.pk, "currency": "EUR"})

        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "customer", "message": "Not found."}]
        assert Account.objects.count() == 0

    def test_reads_an_account_with_its_balance_and_open_items(self, api_client, account, card):
        invoice = InvoiceFactory(account=account, price="100.00")
        PaymentFactory(account=account, amount="30.00", method=card)

        body = api_client.get(f"/api/v1/accounts/{account.pk}").json()

        assert body["balance"] == eur("70.00")
        assert [(i["id"], i["number"], i["open"]) for i in body["open_items"]] == [
            (invoice.pk, "INV-000001", eur("70.00"))]

    def test_lists_the_tenants_accounts(self, api_client, account, second_account, theirs):
        body = api_client.get("/api/v1/accounts").json()

        assert body["count"] == 2
        assert {a["id"] for a in body["items"]} == {account.pk, second_account.pk}

    def test_another_tenants_account_is_not_found(self, other_api_client, account, card_refund):
        assert_404_for_other_tenant(other_api_client, f"/api/v1/accounts/{account.pk}")
        assert_404_for_other_tenant(other_api_client, f"/api/v1/accounts/{account.pk}/refunds", method="post",
                                    data={"amount": eur("5.00"), "refund_method": card_refund.pk}, as_json=True)
        assert FinancialTransaction.objects.count() == 0


@pytest.mark.django_db
class TestRefundsApi:
    def test_posts_a_refund_and_returns_the_credit_limit_warning(self, api_client, account, card_refund):
        response = post_json(api_client, f"/api/v1/accounts/{account.pk}/refunds",
                             {"amount": eur("600.00"), "refund_method": card_refund.pk})

        assert response.status_code == 201
        body = response.json()
        assert body["warnings"] == ["This refund takes the balance to €600.00, past the credit limit of €500.00."]
        assert body["transaction"]["number"] == "RF-000001"
        assert body["transaction"]["outstanding"] == eur("600.00")
        assert fresh(account).balance == D("600.00")

    @pytest.mark.parametrize(
        ("payload", "errors"),
        [
            ({"amount": {"amount": "5.00", "currency": "GBP"}},
             [{"field": "amount.currency", "message": "The account is in EUR; the amount must be too."}]),
            ({"amount": eur("5.001")}, [{"field": "amount", "message": "At most 2 decimal places."}]),
            ({"amount": eur("5.00"), "refund_method": "theirs"}, [{"field": "refund_method", "message": "Not found."}]),
            ({"amount": "5.00"}, [{"field": "amount.amount", "message": "Field required"},
                                  {"field": "amount.currency", "message": "Field required"}]),
        ],
    )
    def test_bad_input_names_the_field_and_saves_nothing(self, api_client, account, card_refund, theirs, payload,
                                                         errors):
        method = theirs["refund_method"].pk if payload.get("refund_method") == "theirs" else card_refund.pk

        response = post_json(api_client, f"/api/v1/accounts/{account.pk}/refunds",
                             {"refund_method": method, **{k: v for k, v in payload.items() if k != "refund_method"}})

        assert response.status_code == 422
        assert response.json() == {"detail": "Invalid input.", "errors": errors}
        assert FinancialTransaction.objects.count() == 0


@pytest.mark.django_db
class TestCreateTransactionApi:
    def test_creates_a_draft_invoice_with_lines(self, api_client, account):
        vat = TaxRate.objects.get(name="Standard")

        response = post_json(api_client, "/api/v1/transactions", {
            "account": account.pk, "classification": "invoice", "notes": "By the API",
            "lines": [{"description": "Consulting", "quantity": "2", "unit_price": "45.50", "discount_percent": "10",
                       "tax_rate": vat.pk},
                      {"description": "Travel", "unit_price": "20.00", "discount_amount": "5.00"}],
        })

        assert response.status_code == 201
        body = response.json()
        assert body["state"] == "draft"
        assert body["number"] == ""
        assert body["reference_number"].startswith("R")
        assert (body["net"], body["discount"], body["tax"], body["total"]) == (
            eur("111.00"), eur("14.10"), eur("16.38"), eur("113.28"))
        assert body["outstanding"] is None
        assert [(ln["description"], ln["total"]) for ln in body["lines"]] == [
            ("Consulting", eur("98.28")), ("Travel", eur("15.00"))]
        assert body["notes"] == "By the API"

    def test_creates_a_posted_payment_allocated_to_the_invoice(self, api_client, account, card):
        invoice = InvoiceFactory(account=account, price="40.00")

        response = post_json(api_client, "/api/v1/transactions", {
            "account": account.pk, "classification": "payment", "post": True, "amount": eur("40.00"),
            "payment_method": card.pk, "external_reference": "BANK-9", "targets": [invoice.pk],
        })

        body = response.json()
        assert response.status_code == 201
        assert (body["state"], body["number"], body["unallocated"]) == ("posted", "PAY-000001", eur("0.00"))
        assert [(a["credit"], a["debit"], a["amount"]) for a in body["allocations"]] == [
            (body["id"], invoice.pk, eur("40.00"))]
        assert body["targets"] == [invoice.pk]
        assert fresh(invoice).open_amount == D("0.00")

    def test_a_posted_invoice_has_its_number_due_date_and_outstanding(self, api_client, account):
        response = post_json(api_client, "/api/v1/transactions", {
            "account": account.pk, "classification": "invoice", "post": True,
            "lines": [{"description": "Fee", "unit_price": "80.00"}]})

        body = response.json()
        assert (body["number"], body["outstanding"]) == ("INV-000001", eur("80.00"))
        assert body["due_on"] is not None

    @pytest.mark.parametrize(
        ("payload", "errors"),
        [
            ({"classification": "invoice", "lines": [{"quantity": "0", "unit_price": "1", "description": "x"}]},
             [{"field": "lines[0].quantity", "message": "Must be more than zero."}]),
            ({"classification": "invoice", "lines": []},
             [{"field": "lines", "message": "At least one line is required."}]),
            ({"classification": "payment", "amount": eur("abc"), "payment_method": "ours"},
             [{"field": "amount", "message": "“abc” is not a number."}]),
            ({"classification": "payment", "amount": eur("5.00")},
             [{"field": "payment_method", "message": "Choose a payment method."}]),
            ({"classification": "payment", "amount": eur("5.00"), "payment_method": "theirs"},
             [{"field": "payment_method", "message": "Not found."}]),
            ({"classification": "invoice", "lines": [{"unit_price": "1", "description": "x", "tax_rate": "theirs"}]},
             [{"field": "lines[0].tax_rate", "message": "Not found."}]),
            ({"classification": "write_off", "lines": [{"unit_price": "1", "description": "x"}]},
             [{"field": "classification", "message": "Create an invoice, credit_note, payment or refund; the other "
                                                     "classifications come from actions."}]),
            ({"classification": "payment", "amount": eur("5.00"), "payment_method": "ours", "account": "theirs"},
             [{"field": "account", "message": "Not found."}]),
            ({"classification": "payment", "amount": {"amount": "5.00", "currency": "GBP"}, "payment_method": "ours"},
             [{"field": "amount.currency", "message": "The account is in EUR; the amount must be too."}]),
        ],
    )
    def test_bad_input_answers_422_naming_the_field_and_saves_nothing(self, api_client, account, card, theirs,
                                                                       payload, errors):
        def swap(value, field):
            return {"ours": card.pk if field == "payment_method" else None,
                    "theirs": theirs[field].pk}.get(value, value) if isinstance(value, str) else value

        body = {"account": account.pk, **payload}
        for field in ("payment_method", "account"):
            if field in body:
                body[field] = swap(body[field], field)
        for item in body.get("lines", []):
            if "tax_rate" in item:
                item["tax_rate"] = swap(item["tax_rate"], "tax_rate")

        response = post_json(api_client, "/api/v1/transactions", body)

        assert response.status_code == 422
        assert response.json() == {"detail": "Invalid input.", "errors": errors}
        assert FinancialTransaction.objects.count() == 0

    def test_another_tenants_invoice_cannot_be_targeted(self, api_client, account, card, theirs):
        with scope(tenant=theirs["account"].tenant):
            their_invoice = InvoiceFactory(account=theirs["account"], price="10.00")

        response = post_json(api_client, "/api/v1/transactions", {
            "account": account.pk, "classification": "payment", "amount": eur("10.00"), "payment_method": card.pk,
            "targets": [their_invoice.pk]})

        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "targets", "message": "Not found."}]
        assert FinancialTransaction.objects.filter(tenant=account.tenant).count() == 0


@pytest.mark.django_db
class TestReadAndListApi:
    def test_reads_a_transaction(self, api_client, account, card):
        invoice = InvoiceFactory(account=account, price="100.00")
        PaymentFactory(account=account, amount="30.00", method=card)

        body = api_client.get(f"/api/v1/transactions/{invoice.pk}").json()

        assert body["id"] == invoice.pk
        assert body["number"] == "INV-000001"
        assert body["state"] == "posted"
        assert body["due_on"] == "2026-06-19"
        assert body["total"] == eur("100.00")
        assert body["outstanding"] == eur("70.00")
        assert body["customer"] == account.customer_id
        assert [a["amount"] for a in body["allocations"]] == [eur("30.00")]
        assert body["lines"][0]["unit_price"] == eur("100.00")

    def test_lists_with_filters_and_paging(self, api_client, account, second_account, card):
        invoice = InvoiceFactory(account=account, price="100.00")
        payment = PaymentFactory(account=account, amount="30.00", method=card)
        draft = draft_invoice(second_account)

        def ids(**params):
            return [t["id"] for t in api_client.get("/api/v1/transactions", params).json()["items"]]

        assert ids() == [draft.pk, payment.pk, invoice.pk]
        assert ids(classification="invoice") == [draft.pk, invoice.pk]
        assert ids(state="posted", account=account.pk) == [payment.pk, invoice.pk]
        assert ids(customer=second_account.customer_id) == [draft.pk]
        assert ids(number="PAY-000001") == [payment.pk]
        assert ids(posted_from="2026-05-20", posted_to="2026-05-20") == [payment.pk, invoice.pk]
        assert ids(posted_to="2026-05-19") == []
        assert ids(limit=1, offset=1) == [payment.pk]

    def test_the_list_query_count_does_not_grow_with_the_rows(self, api_client, account, card):
        InvoiceFactory(account=account, price="1.00")
        with CaptureQueriesContext(connection) as few:
            api_client.get("/api/v1/transactions")
        for _ in range(5):
            InvoiceFactory(account=account, price="1.00")
            PaymentFactory(account=account, amount="1.00", method=card)

        with CaptureQueriesContext(connection) as many:
            body = api_client.get("/api/v1/transactions").json()

        assert body["count"] == 11
        assert len(many) == len(few)

    def test_another_tenants_transaction_is_not_found(self, other_api_client, account, card):
        invoice = InvoiceFactory(account=account, price="100.00")
        payment = PaymentFactory(account=account, amount="10.00", method=card)
        draft = draft_invoice(account)

        assert_404_for_other_tenant(other_api_client, f"/api/v1/transactions/{invoice.pk}")
        assert_404_for_other_tenant(other_api_client, f"/api/v1/transactions/{draft.pk}", method="patch",
                                    data={"back_office_code": "X"}, as_json=True)
        for txn, action, data in [(draft, "post", {}), (draft, "reject", {"reason": 1}), (invoice, "cancel", {}),
                                  (invoice, "write-off", {}), (invoice, "quick-pay", {"payment_method": card.pk}),
                                  (payment, "move", {"destination": account.pk})]:
            assert_404_for_other_tenant(other_api_client, f"/api/v1/transactions/{txn.pk}/{action}",
                                        method="post", data=data, as_json=True)
        assert fresh(draft).state == TransactionState.DRAFT
        assert FinancialTransaction.objects.count() == 3
        assert other_api_client.get("/api/v1/transactions").json()["count"] == 0


@pytest.mark.django_db
class TestPostedCannotChange:
    def test_a_patch_of_a_posted_transaction_answers_409_and_changes_nothing(self, api_client, account):
        invoice = InvoiceFactory(account=account, price="100.00")

        response = patch_json(api_client, f"/api/v1/transactions/{invoice.pk}",
                              {"lines": [{"description": "Cheaper", "unit_price": "1.00"}], "back_office_code": "X"})

        assert response.status_code == 409
        assert response.json() == {"detail": "Invoice INV-000001 is posted; only a draft can change."}
        after = fresh(invoice)
        assert (after.total_amount, after.back_office_code) == (D("100.00"), "")
        assert invoice.lines.get().description == "Service"

    def test_there_is_no_put_or_delete(self, api_client, account):
        invoice = InvoiceFactory(account=account, price="100.00")
        url = f"/api/v1/transactions/{invoice.pk}"

        assert api_client.put(url, data="{}", content_type="application/json").status_code == 405
        assert api_client.delete(url).status_code == 405
        assert fresh(invoice).total_amount == D("100.00")

    def test_a_draft_is_patched(self, api_client, account):
        draft = draft_invoice(account)

        response = patch_json(api_client, f"/api/v1/transactions/{draft.pk}",
                              {"lines": [{"description": "More", "quantity": "3", "unit_price": "5.00"}]})

        assert response.status_code == 200
        assert response.json()["total"] == eur("15.00")
        assert fresh(draft).total_amount == D("15.00")

    def test_a_bad_patch_names_the_field_and_changes_nothing(self, api_client, account):
        draft = draft_invoice(account)

        response = patch_json(api_client, f"/api/v1/transactions/{draft.pk}",
                              {"lines": [{"description": "x", "unit_price": "1.001"}]})

        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "lines[0].unit_price", "message": "At most 2 decimal places."}]
        assert fresh(draft).total_amount == D("10.00")


@pytest.mark.django_db
class TestActionsApi:
    def test_posts_a_draft(self, api_client, account):
        draft = draft_invoice(account)

        response = post_json(api_client, f"/api/v1/transactions/{draft.pk}/post")

        assert response.status_code == 200
        assert (response.json()["state"], response.json()["number"]) == ("posted", "INV-000001")
        assert fresh(account).balance == D("10.00")

    def test_posting_twice_answers_409(self, api_client, account):
        invoice = InvoiceFactory(account=account, price="10.00")

        response = post_json(api_client, f"/api/v1/transactions/{invoice.pk}/post")

        assert response.status_code == 409
        assert response.json() == {"detail": "Invoice INV-000001 is posted; only a draft can change."}
        assert fresh(account).balance == D("10.00")

    def test_rejects_a_draft_with_a_reason(self, api_client, account):
        draft = draft_invoice(account)
        reason = RejectionReason.objects.get(text="Duplicate")

        response = post_json(api_client, f"/api/v1/transactions/{draft.pk}/reject", {"reason": reason.pk})

        assert response.status_code == 200
        assert response.json()["rejection_reason"] == "Duplicate"
        assert fresh(draft).state == TransactionState.REJECTED

    def test_another_tenants_reason_is_not_found_and_nothing_changes(self, api_client, account, theirs):
        draft = draft_invoice(account)

        response = post_json(api_client, f"/api/v1/transactions/{draft.pk}/reject", {"reason": theirs["reason"].pk})

        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "reason", "message": "Not found."}]
        assert fresh(draft).state == TransactionState.DRAFT

    def test_cancels_an_invoice_and_answers_the_cancellation(self, api_client, account):
        invoice = InvoiceFactory(account=account, price="100.00")

        response = post_json(api_client, f"/api/v1/transactions/{invoice.pk}/cancel")

        assert response.status_code == 201
        assert (response.json()["classification"], response.json()["number"]) == ("invoice_cancellation",
                                                                                  "IC-000001")
        assert response.json()["related"] == invoice.pk
        assert post_json(api_client, f"/api/v1/transactions/{invoice.pk}/cancel").json() == {
            "detail": "Invoice INV-000001 is already cancelled."}

    def test_cancels_a_payment(self, api_client, account, card):
        payment = PaymentFactory(account=account, amount="10.00", method=card)

        response = post_json(api_client, f"/api/v1/transactions/{payment.pk}/cancel")

        assert response.json()["classification"] == "payment_cancellation"
        assert fresh(account).balance == D("0.00")

    def test_writes_off_an_invoice(self, api_client, account):
        invoice = InvoiceFactory(account=account, price="100.00")

        response = post_json(api_client, f"/api/v1/transactions/{invoice.pk}/write-off",
                             {"type": default_type(account.tenant).pk})

        assert response.status_code == 201
        assert response.json()["classification"] == "write_off"
        assert response.json()["total"] == eur("100.00")
        assert fresh(invoice).open_amount == D("0.00")

    def test_quick_pays_an_invoice(self, api_client, account, card):
        invoice = InvoiceFactory(account=account, price="100.00")

        response = post_json(api_client, f"/api/v1/transactions/{invoice.pk}/quick-pay",
                             {"payment_method": card.pk, "external_reference": "ch_1"})

        assert response.status_code == 201
        assert (response.json()["total"], response.json()["external_reference"]) == (eur("100.00"), "ch_1")
        assert fresh(invoice).open_amount == D("0.00")
        assert post_json(api_client, f"/api/v1/transactions/{invoice.pk}/quick-pay",
                         {"payment_method": card.pk}).status_code == 409

    def test_quick_pay_with_another_tenants_method_is_refused(self, api_client, account, theirs):
        invoice = InvoiceFactory(account=account, price="100.00")

        response = post_json(api_client, f"/api/v1/transactions/{invoice.pk}/quick-pay",
                             {"payment_method": theirs["payment_method"].pk})

        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "payment_method", "message": "Not found."}]
        assert fresh(invoice).open_amount == D("100.00")

    def test_moves_a_payment_to_the_suspense_account(self, api_client, account, card):
        payment = PaymentFactory(account=account, amount="10.00", method=card)
        suspense = services.system_account(tenant=account.tenant, kind=AccountKind.SUSPENSE, currency="EUR")

        response = post_json(api_client, f"/api/v1/transactions/{payment.pk}/move", {"destination": suspense.pk})

        assert response.status_code == 201
        assert response.json()["account"] == suspense.pk
        assert fresh(suspense).balance == D("-10.00")

    def test_moving_to_another_tenants_account_is_refused(self, api_client, account, card, theirs):
        payment = PaymentFactory(account=account, amount="10.00", method=card)

        response = post_json(api_client, f"/api/v1/transactions/{payment.pk}/move",
                             {"destination": theirs["account"].pk})

        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "destination", "message": "Not found."}]
        assert fresh(account).balance == D("-10.00")

    def test_moving_to_another_currency_names_the_field(self, api_client, account, card, customer):
        payment = PaymentFactory(account=account, amount="10.00", method=card)
        pounds = services.open_account(customer=CustomerFactory(tenant=account.tenant), currency="GBP")

        response = post_json(api_client, f"/api/v1/transactions/{payment.pk}/move", {"destination": pounds.pk})

        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"field": "destination", "message": "The destination account is in GBP, the payment in EUR."}]

    def test_the_openapi_document_lists_the_ledger(self, client):
        paths = client.get("/api/v1/openapi.json").json()["paths"]

        assert {"/api/v1/accounts", "/api/v1/accounts/{account_id}/refunds", "/api/v1/transactions",
                "/api/v1/transactions/{transaction_id}/quick-pay"} <= set(paths)


def issue_fields(body: dict) -> dict:
    return {k: body[k] for k in ("classification", "type", "issue_reason", "issue_note", "related", "total")}


@pytest.mark.django_db
class TestIssueReasonsApi:
    @pytest.fixture
    def bankruptcy(self, ledger):
        return TransactionType.objects.create(tenant=ledger, classification=Classification.WRITE_OFF,
                                              name="Bankruptcy")

    @pytest.fixture
    def uncollectable(self, ledger):
        return IssueReason.objects.get(tenant=ledger, text="Uncollectable debt")

    def test_writes_off_with_a_type_and_an_issue_reason(self, api_client, account, bankruptcy, uncollectable):
        invoice = InvoiceFactory(account=account, price="100.00")

        response = post_json(api_client, f"/api/v1/transactions/{invoice.pk}/write-off",
                             {"type": bankruptcy.pk, "issue_reason": uncollectable.pk})

        assert response.status_code == 201
        assert issue_fields(response.json()) == {
            "classification": "write_off", "type": "Bankruptcy",
            "issue_reason": {"id": uncollectable.pk, "text": "Uncollectable debt"}, "issue_note": "",
            "related": invoice.pk, "total": eur("100.00"),
        }

    @pytest.mark.parametrize(
        ("payload", "errors"),
        [
            ({}, [{"field": "type", "message": "Choose the type of write-off."}]),
            ({"type": None}, [{"field": "type", "message": "Choose the type of write-off."}]),
            ({"type": "theirs"}, [{"field": "type", "message": "Not found."}]),
            ({"type": "cancellation"}, [{"field": "type", "message": "Choose a write-off type."}]),
            ({"type": "ours", "issue_reason": "theirs"}, [{"field": "issue_reason", "message": "Not found."}]),
            ({"type": "ours", "issue_reason": 0}, [{"field": "issue_reason", "message": "Not found."}]),
            ({"type": "ours", "issue_reason": "x"},
             [{"field": "issue_reason", "message": "Input should be a valid integer, unable to parse string as an "
                                                   "integer"}]),
        ],
    )
    def test_a_bad_write_off_answers_422_naming_the_field_and_changes_nothing(
            self, api_client, account, theirs, other_tenant, payload, errors):
        with scope(tenant=other_tenant):
            their_rows = {"type": default_type(other_tenant).pk,
                          "issue_reason": IssueReason.objects.get(tenant=other_tenant, text="Goods returned").pk}
        ours = {"ours": default_type(account.tenant).pk,
                "cancellation": default_type(account.tenant, Classification.INVOICE_CANCELLATION).pk}
        invoice = InvoiceFactory(account=account, price="100.00")
        body = {k: their_rows[k] if v == "theirs" else ours.get(v, v) if isinstance(v, str) and v in ours else v
                for k, v in payload.items()}

        response = post_json(api_client, f"/api/v1/transactions/{invoice.pk}/write-off", body)

        assert response.status_code == 422
        assert response.json() == {"detail": "Invalid input.", "errors": errors}
        assert fresh(invoice).open_amount == D("100.00")
        assert fresh(account).balance == D("100.00")
        assert not FinancialTransaction.objects.filter(tenant=account.tenant,
                                                       classification=Classification.WRITE_OFF).exists()

    def test_cancels_with_a_type_and_an_issue_reason(self, api_client, account, ledger):
        invoice = InvoiceFactory(account=account, price="100.00")
        returned = TransactionType.objects.create(tenant=ledger, classification=Classification.INVOICE_CANCELLATION,
                                                  name="Goods returned")
        reason = IssueReason.objects.get(tenant=ledger, text="Goods returned")

        response = post_json(api_client, f"/api/v1/transactions/{invoice.pk}/cancel",
                             {"type": returned.pk, "issue_reason": reason.pk})

        assert response.status_code == 201
        assert issue_fields(response.json()) == {
            "classification": "invoice_cancellation", "type": "Goods returned",
            "issue_reason": {"id": reason.pk, "text": "Goods returned"}, "issue_note": "", "related": invoice.pk,
            "total": eur("100.00"),
        }

    def test_a_cancellation_with_another_tenants_reason_answers_422_and_changes_nothing(
            self, api_client, account, card, other_tenant, theirs):
        payment = PaymentFactory(account=account, amount="10.00", method=card)
        with scope(tenant=other_tenant):
            their_reason = IssueReason.objects.get(tenant=other_tenant, text="Goods returned")

        response = post_json(api_client, f"/api/v1/transactions/{payment.pk}/cancel",
                             {"issue_reason": their_reason.pk})

        assert response.status_code == 422
        assert response.json() == {"detail": "Invalid input.",
                                   "errors": [{"field": "issue_reason", "message": "Not found."}]}
        assert fresh(account).balance == D("-10.00")
        assert FinancialTransaction.objects.filter(tenant=account.tenant).count() == 1

    def test_a_credit_note_and_a_refund_take_an_issue_reason(self, api_client, account, card_refund, ledger):
        goodwill = IssueReason.objects.get(tenant=ledger, text="Goodwill gesture")

        note = post_json(api_client, "/api/v1/transactions", {
            "account": account.pk, "classification": "credit_note", "issue_reason": goodwill.pk,
            "lines": [{"description": "Goodwill", "unit_price": "5.00"}]}).json()
        refund = post_json(api_client, f"/api/v1/accounts/{account.pk}/refunds", {
            "amount": eur("5.00"), "refund_method": card_refund.pk, "issue_reason": goodwill.pk}).json()

        expected = {"id": goodwill.pk, "text": "Goodwill gesture"}
        assert (note["issue_reason"], refund["transaction"]["issue_reason"]) == (expected, expected)

    def test_an_invoice_with_an_issue_reason_answers_422_and_saves_nothing(self, api_client, account, ledger):
        goodwill = IssueReason.objects.get(tenant=ledger, text="Goodwill gesture")

        response = post_json(api_client, "/api/v1/transactions", {
            "account": account.pk, "classification": "invoice", "issue_reason": goodwill.pk,
            "lines": [{"description": "Fee", "unit_price": "5.00"}]})

        assert response.status_code == 422
        assert response.json() == {"detail": "Invalid input.", "errors": [{
            "field": "issue_reason",
            "message": "Only credit notes, refunds, cancellations and write-offs have an issue reason."}]}
        assert FinancialTransaction.objects.count() == 0

    def test_an_invoice_has_its_total_without_tax(self, api_client, account, ledger):
        vat = TaxRate.objects.get(tenant=ledger, name="Standard")
        response = post_json(api_client, "/api/v1/transactions", {
            "account": account.pk, "classification": "invoice",
            "lines": [{"description": "Consulting", "quantity": "2", "unit_price": "45.50", "discount_percent": "10",
                       "tax_rate": vat.pk}]})

        body = api_client.get(f"/api/v1/transactions/{response.json()['id']}").json()

        assert {k: body[k] for k in ("net", "discount", "total_without_tax", "tax", "total")} == {
            "net": eur("91.00"), "discount": eur("9.10"), "total_without_tax": eur("81.90"), "tax": eur("16.38"),
            "total": eur("98.28")}
        listed = api_client.get("/api/v1/transactions").json()["items"][0]
        assert listed["total_without_tax"] == eur("81.90")
