from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import pagination
from finance import services
from finance.models import (
    Account,
    AccountKind,
    Classification,
    FinancialTransaction,
    IssueReason,
    PaymentMethod,
    RejectionReason,
    SharedNote,
    TaxRate,
    TransactionState,
    TransactionType,
)
from tests.factories import CustomerFactory, InvoiceFactory, PaymentFactory, line
from tests.finance.conftest import AT, D, default_type
from tests.helpers import assert_404_for_other_tenant

LIST = reverse("finance:transaction_list")


def detail_url(txn):
    return reverse("finance:transaction_detail", args=[txn.pk])


def action_url(txn, action):
    return reverse("finance:transaction_action", args=[txn.pk, action])


def create_url(classification, account=None):
    url = reverse("finance:transaction_create", args=[classification])
    return f"{url}?account={account.pk}" if account else url


def account_url(account):
    return reverse("finance:account_detail", args=[account.pk])


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def draft_invoice(account, price="10.00"):
    return services.create_transaction(account=account, classification=Classification.INVOICE, actor=None, at=AT,
                                       data=services.TransactionData(lines=[line(price)]))


def invoice_form(account, *lines, **extra):
    data = {"account": account.pk, "type": "", "due_on": "", "category": "", "back_office_code": "", "notes": "",
            "lines-TOTAL_FORMS": "3", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "100"}
    for index, values in enumerate(lines):
        for name, value in values.items():
            data[f"lines-{index}-{name}"] = value
    return {**data, **extra}


def payment_form(account, **extra):
    return {"account": account.pk, "type": "", "amount": "25.00", "payment_method": "", "external_reference": "",
            "category": "", "back_office_code": "", "notes": "", **extra}


def flashes(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.mark.django_db
class TestSummary:
    def test_lists_only_the_tenants_transactions_newest_first(self, staff_client, account, card, other_tenant):
        invoice = InvoiceFactory(account=account, price="100.00")
        payment = PaymentFactory(account=account, amount="30.00", method=card)

        response = staff_client.get(LIST)

        assert response.status_code == 200
        assert [t.pk for t in response.context["page"]] == [payment.pk, invoice.pk]
        assert "INV-000001" in response.text
        assert "€100.00" in response.text

    def test_filters_by_classification_state_account_customer_number_and_dates(
        self, staff_client, account, second_account, card
    ):
        invoice = InvoiceFactory(account=account, price="100.00")
        payment = PaymentFactory(account=account, amount="30.00", method=card)
        draft = draft_invoice(second_account)
        old = InvoiceFactory(account=second_account, price="5.00", at=AT - timedelta(days=40))

        def pks(**params):
            return [t.pk for t in staff_client.get(LIST, params).context["page"]]

        assert pks(classification="payment") == [payment.pk]
        assert pks(state="draft") == [draft.pk]
        assert pks(account=second_account.pk) == [old.pk, draft.pk]
        assert pks(customer=account.customer_id) == [payment.pk, invoice.pk]
        assert pks(number="INV-000001") == [invoice.pk]
        assert pks(posted_from="2026-05-01", posted_to="2026-05-31") == [payment.pk, invoice.pk]
        assert pks(posted_to="2026-04-30") == [old.pk]

    def test_another_tenants_account_is_an_invalid_filter_not_a_leak(self, staff_client, account, other_customer):
        InvoiceFactory(account=account, price="100.00")
        from django_scopes import scope

        with scope(tenant=other_customer.tenant):
            services.set_up_ledger(tenant=other_customer.tenant)
            theirs = services.open_account(customer=other_customer, currency="EUR")

        response = staff_client.get(LIST, {"account": theirs.pk})

        assert "Account: Select a valid choice." in response.text
        assert len(response.context["page"]) == 1

    def test_htmx_filtering_renders_only_the_rows(self, staff_client, account):
        InvoiceFactory(account=account, price="100.00")

        response = staff_client.get(LIST, {"state": "posted"}, headers={"HX-Request": "true"})

        assert next(t.name for t in response.templates) == "finance/_transaction_rows.html"
        assert "<html" not in response.text
        assert "INV-000001" in response.text

    def test_paginates_by_25_keeping_the_filters(self, staff_client, account, card):
        for _ in range(27):
            PaymentFactory(account=account, amount="1.00", method=card)

        second = staff_client.get(LIST, {"classification": "payment", "page": 2})

        assert len(second.context["page"]) == 2
        assert "Page 2 of 2 · 27 in all" in second.text
        assert "?classification=payment&amp;page=1" in second.text

    def test_counts_a_long_list_only_up_to_a_limit_past_the_page(self, staff_client, account, card, monkeypatch):
        monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 25)
        payments = [PaymentFactory(account=account, amount="1.00", method=card) for _ in range(27)]

        first = staff_client.get(LIST, {"classification": "payment"})
        second = staff_client.get(LIST, {"classification": "payment", "page": 2})
        beyond = staff_client.get(LIST, {"classification": "payment", "page": 9})

        assert [t.pk for t in first.context["page"]] == [p.pk for p in reversed(payments)][:25]
        assert "Page 1 · more than 25 in all" in first.text
        assert "?classification=payment&amp;page=2" in first.text
        assert [t.pk for t in second.context["page"]] == [payments[1].pk, payments[0].pk]
        assert "Page 2 of 2 · 27 in all" in second.text
        assert beyond.context["page"].number == 2

    def test_the_query_count_does_not_grow_with_the_rows(self, staff_client, account, second_account, card):
        InvoiceFactory(account=account, price="10.00")
        PaymentFactory(account=second_account, amount="5.00", method=card)
        with CaptureQueriesContext(connection) as few:
            staff_client.get(LIST)
        for _ in range(6):
            InvoiceFactory(account=account, price="10.00")
            PaymentFactory(account=second_account, amount="5.00", method=card)
            draft_invoice(second_account)

        with CaptureQueriesContext(connection) as many:
            response = staff_client.get(LIST)

        assert len(response.context["page"]) == 20
        # session, user, tenant, count, permissions (2), the account and customer choices, the page's
        # ids, its rows
        assert len(many) == len(few) == 10

    def test_another_tenants_staff_sees_none_of_it(self, other_client, account):
        InvoiceFactory(account=account, price="100.00")

        response = other_client.get(LIST)

        assert list(response.context["page"]) == []
        assert "INV-000001" not in response.text


# The two lines of the invoice the data-entry tests type: 2 × 45.50 less 10 %, with VAT; 20.00 less 5.00.
CONSULTING = {"description": "Consulting", "quantity": "2", "unit_price": "45.50", "discount_percent": "10"}
TRAVEL = {"description": "Travel", "quantity": "1", "unit_price": "20.00", "discount_amount": "5.00"}


@pytest.mark.django_db
class TestDataEntry:
    def test_staff_save_an_invoice_with_two_lines_as_a_draft(self, staff_client, staff, account):
        vat = TaxRate.objects.get(tenant=account.tenant, name="Standard")

        response = staff_client.post(create_url("invoice"), invoice_form(
            account,
            {**CONSULTING, "tax_rate": vat.pk}, TRAVEL,
            notes="Call before sending", back_office_code="BO-7",
        ))

        invoice = FinancialTransaction.objects.get()
        assert response.status_code == 302
        assert response.url == detail_url(invoice)
        assert invoice.state == TransactionState.DRAFT
        assert invoice.created_by == staff
        assert (invoice.net_amount, invoice.discount_amount, invoice.tax_amount, invoice.total_amount) == (
            D("111.00"), D("14.10"), D("16.38"), D("113.28"))
        assert [(ln.description, ln.total_amount) for ln in invoice.lines.all()] == [
            ("Consulting", D("98.28")), ("Travel", D("15.00"))]
        assert invoice.back_office_code == "BO-7"
        assert invoice.notes.get().text == "Call before sending"

    def test_an_accountant_saves_and_posts_in_one_go(self, accountant_client, account):
        response = accountant_client.post(create_url("invoice"), invoice_form(
            account, {"description": "Fee", "quantity": "1", "unit_price": "80.00"}, save_and_post="1"))

        invoice = FinancialTransaction.objects.get()
        assert response.status_code == 302
        assert invoice.state == TransactionState.POSTED
        assert invoice.number == "INV-000001"
        assert fresh(account).balance == D("80.00")

    def test_staff_may_not_save_and_post(self, staff_client, account):
        response = staff_client.post(create_url("invoice"), invoice_form(
            account, {"description": "Fee", "quantity": "1", "unit_price": "80.00"}, save_and_post="1"))

        assert response.status_code == 403
        assert FinancialTransaction.objects.count() == 0

    def test_the_amounts_are_previewed_as_the_lines_are_typed_and_nothing_is_saved(self, staff_client, account):
        vat = TaxRate.objects.get(tenant=account.tenant, name="Standard")

        response = staff_client.post(create_url("invoice"), invoice_form(
            account,
            {**CONSULTING, "tax_rate": vat.pk}, TRAVEL,
            {"description": "Not yet", "quantity": "1", "unit_price": "abc"},
            preview="1",
        ), headers={"HX-Request": "true"})

        assert next(t.name for t in response.templates) == "finance/_amounts.html"
        totals = response.context["totals"]
        assert (totals.net, totals.discount, totals.tax, totals.total) == (
            D("111.00"), D("14.10"), D("16.38"), D("113.28"))
        assert "€113.28" in response.text
        assert "1 line not counted yet" in response.text
        assert FinancialTransaction.objects.count() == 0

    def test_the_post_button_is_offered_to_accountants_only(self, staff_client, accountant_client, account):
        assert "save_and_post" not in staff_client.get(create_url("invoice", account)).text
        assert "save_and_post" in accountant_client.get(create_url("invoice", account)).text

    def test_a_payment_pays_the_invoices_chosen(self, accountant_client, account, card):
        older = InvoiceFactory(account=account, price="40.00", at=AT - timedelta(days=3))
        newer = InvoiceFactory(account=account, price="25.00")
        definition = services.set_up_ledger(tenant=account.tenant)
        definition.allocation_principle = "against_item_fifo"
        definition.save()

        page = accountant_client.get(create_url("payment", account))
        response = accountant_client.post(create_url("payment", account), payment_form(
            account, payment_method=card.pk, targets=[newer.pk], external_reference="BANK-1", save_and_post="1"))

        payment = FinancialTransaction.objects.get(classification=Classification.PAYMENT)
        assert "Invoices to pay" in page.text
        assert response.status_code == 302
        assert payment.external_reference == "BANK-1"
        assert list(payment.targets.values_list("invoice_id", flat=True)) == [newer.pk]
        assert (fresh(newer).open_amount, fresh(older).open_amount) == (D("0.00"), D("40.00"))

    def test_a_refund_has_an_amount_and_a_refund_method(self, staff_client, account, card_refund):
        response = staff_client.post(create_url("refund"), {
            "account": account.pk, "amount": "12.50", "refund_method": card_refund.pk, "external_reference": "",
            "category": "", "back_office_code": "", "notes": ""})

        refund = FinancialTransaction.objects.get()
        assert response.status_code == 302
        assert (refund.classification, refund.total_amount, refund.refund_method) == (
            Classification.REFUND, D("12.50"), card_refund)

    @pytest.mark.parametrize(
        ("lines", "extra", "messages"),
        [
            ([{"description": "Fee", "quantity": "0", "unit_price": "10"}], {},
             ["Quantity: Must be more than zero.", "Line 1, quantity: Must be more than zero."]),
            ([{"description": "Fee", "quantity": "1", "unit_price": "10.001"}], {},
             ["Unit price: At most 2 decimal places."]),
            ([{"description": "Fee", "quantity": "1", "unit_price": "10", "discount_amount": "11"}], {},
             ["Discount: The discount is larger than the line&#x27;s net amount."]),
            ([], {}, ["Lines: At least one line is required."]),
            ([{"description": "Fee", "quantity": "1", "unit_price": "10"}], {"due_on": "2020-01-01"},
             ["Due date: The due date must be"]),
        ],
    )
    def test_bad_invoice_input_names_the_field_and_saves_nothing(self, staff_client, account, lines, extra,
                                                                 messages):
        response = staff_client.post(create_url("invoice"), invoice_form(account, *lines, **extra))

        assert response.status_code == 200
        assert "Nothing was saved" in response.text
        for message in messages:
            assert message in response.text
        assert FinancialTransaction.objects.count() == 0

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"amount": "abc", "payment_method": "card"}, "Amount: “abc” is not a number."),
            ({"amount": "-5", "payment_method": "card"}, "Amount: Must be more than zero."),
            ({}, "Payment method: Choose a payment method."),
            ({"payment_method": "theirs"}, "Payment method: Select a valid choice."),
            ({"account": "theirs", "payment_method": "card"}, "Account: Select a valid choice."),
        ],
    )
    def test_bad_payment_input_names_the_field_and_saves_nothing(self, staff_client, account, card,
                                                                 other_tenant, change, message):
        from django_scopes import scope

        with scope(tenant=other_tenant):
            services.set_up_ledger(tenant=other_tenant)
            their_card = PaymentMethod.objects.get(tenant=other_tenant, name="Card")
            their_account = services.open_account(
                customer=CustomerFactory(tenant=other_tenant), currency="EUR")
        ids = {"card": card.pk, "theirs": their_card.pk}
        values = {"account": account.pk, **change}
        if "payment_method" in values:
            values["payment_method"] = ids[values["payment_method"]]
        if values["account"] == "theirs":
            values["account"] = their_account.pk

        response = staff_client.post(create_url("payment"), {**payment_form(account), **values})

        assert response.status_code == 200
        assert message in response.text
        assert FinancialTransaction.objects.count() == 0

    def test_a_terminated_account_is_refused_with_the_reason(self, staff_client, account, card):
        services.change_account_state(account=account, action="terminate", actor=None, at=AT)

        response = staff_client.post(create_url("payment"), payment_form(account, payment_method=card.pk))

        assert "terminated; it accepts no new transactions" in response.text
        assert FinancialTransaction.objects.count() == 0

    def test_an_unknown_classification_is_not_found(self, staff_client, ledger):
        assert staff_client.get(create_url("write_off")).status_code == 404

    def test_another_tenants_account_is_not_found(self, other_client, account):
        assert_404_for_other_tenant(other_client, create_url("invoice", account))


@pytest.mark.django_db
class TestEditDraft:
    def test_edits_the_lines_of_a_draft(self, staff_client, account):
        draft = draft_invoice(account)
        form = invoice_form(account, {"description": "Service", "quantity": "1", "unit_price": "10.00"},
                            {"description": "Extra", "quantity": "3", "unit_price": "5.00"})
        form["lines-INITIAL_FORMS"] = "1"
        del form["account"], form["notes"]

        page = staff_client.get(reverse("finance:transaction_update", args=[draft.pk]))
        response = staff_client.post(reverse("finance:transaction_update", args=[draft.pk]), form)

        assert 'value="10.00"' in page.text
        assert response.status_code == 302
        assert fresh(draft).total_amount == D("25.00")
        assert [e.action for e in draft.events.all()] == ["create", "edit"]

    def test_a_posted_transaction_cannot_be_edited(self, staff_client, account):
        invoice = InvoiceFactory(account=account, price="10.00")
        form = invoice_form(account, {"description": "Changed", "quantity": "1", "unit_price": "99.00"})

        response = staff_client.post(reverse("finance:transaction_update", args=[invoice.pk]), form, follow=True)

        assert "only a draft can be edited" in response.text
        assert fresh(invoice).total_amount == D("10.00")
        assert invoice.lines.get().description == "Service"

    def test_another_tenants_draft_is_not_found(self, other_client, account):
        draft = draft_invoice(account)
        url = reverse("finance:transaction_update", args=[draft.pk])

        assert_404_for_other_tenant(other_client, url)
        assert_404_for_other_tenant(other_client, url, method="post", data=invoice_form(account))


@pytest.mark.django_db
class TestTransactionPage:
    def test_shows_amounts_lines_number_allocations_and_the_audit_trail(self, staff_client, accountant, account,
                                                                         card):
        invoice = InvoiceFactory(account=account, price="100.00", actor=accountant)
        PaymentFactory(account=account, amount="30.00", method=card)

        response = staff_client.get(detail_url(invoice))

        assert response.status_code == 200
        assert response.context["txn"] == invoice
        for text in ("Invoice INV-000001", "€100.00", "€70.00", "Service", "Payment PAY-000001", "€30.00",
                     "Anna Count", "Draft → Posted", "19 Jun 2026"):
            assert text in response.text

    def test_reversed_allocations_are_kept_and_marked(self, accountant_client, account, card):
        invoice = InvoiceFactory(account=account, price="100.00")
        PaymentFactory(account=account, amount="30.00", method=card)
        services.cancel_invoice(invoice=invoice, actor=None, at=AT)

        response = accountant_client.get(detail_url(invoice))

        rows = list(response.context["allocations"])
        assert [(a.amount, a.reversed_at is not None) for a in rows] == [(D("30.00"), True), (D("100.00"), False)]
        assert response.text.count('class="reversed"') == 1
        assert "Reversed" in response.text

    def test_a_posted_invoice_offers_cancel_quick_pay_and_write_off_but_not_post(self, accountant_client, account):
        invoice = InvoiceFactory(account=account, price="100.00")

        response = accountant_client.get(detail_url(invoice))

        assert response.context["actions"] == ["cancel", "quick_pay", "write_off", "communicate"]
        assert 'data-action="post"' not in response.text
        assert 'data-action="quick_pay"' in response.text
        assert "Quick pay €100.00" in response.text

    def test_a_draft_offers_edit_post_and_reject(self, accountant_client, account):
        response = accountant_client.get(detail_url(draft_invoice(account)))

        assert response.context["actions"] == ["edit", "post", "reject"]
        assert 'data-action="cancel"' not in response.text
        assert "Duplicate" in response.text  # a rejection reason to choose

    def test_staff_see_no_accountant_action(self, staff_client, account):
        assert staff_client.get(detail_url(draft_invoice(account))).context["actions"] == ["edit"]
        assert staff_client.get(detail_url(InvoiceFactory(account=account,
                                                          price="5.00"))).context["actions"] == ["communicate"]

    def test_communicate_offers_the_messages_this_invoice_can_fill(self, staff_client, account):
        response = staff_client.get(detail_url(InvoiceFactory(account=account, price="5.00")))

        choices = dict(response.context["communicate_form"].fields["template"].choices)
        assert choices == {"": "— write my own —", "generic": "General message"}
        assert 'data-action="communicate"' in response.text

    def test_a_system_account_has_nobody_to_communicate_with(self, accountant_client, ledger, card):
        suspense = services.system_account(tenant=ledger, kind=AccountKind.SUSPENSE, currency="EUR")

        response = accountant_client.get(detail_url(PaymentFactory(account=suspense, amount="5.00", method=card)))

        assert response.context["actions"] == ["cancel", "move"]

    def test_a_payment_can_move_to_the_suspense_account(self, accountant_client, account, second_account, card):
        payment = PaymentFactory(account=account, amount="10.00", method=card)

        response = accountant_client.get(detail_url(payment))

        choices = {a.kind for a in response.context["move_form"].fields["destination"].queryset}
        assert choices == {AccountKind.CUSTOMER, AccountKind.SUSPENSE}
        assert "Suspense account (EUR)" in response.text

    def test_another_tenants_transaction_is_not_found(self, other_client, account):
        invoice = InvoiceFactory(account=account, price="100.00")

        assert_404_for_other_tenant(other_client, detail_url(invoice))
        for action in ("post", "reject", "cancel", "write_off", "quick_pay", "move", "notes", "communicate"):
            assert_404_for_other_tenant(other_client, action_url(invoice, action), method="post", data={})
        assert fresh(invoice).open_amount == D("100.00")


@pytest.mark.django_db
class TestActions:
    def test_an_accountant_posts_a_draft(self, accountant_client, accountant, account):
        draft = draft_invoice(account)

        response = accountant_client.post(action_url(draft, "post"), follow=True)

        posted = fresh(draft)
        assert posted.state == TransactionState.POSTED
        assert posted.number == "INV-000001"
        assert "Invoice INV-000001 posted." in flashes(response)
        assert posted.events.last().actor == accountant

    @pytest.mark.parametrize("action", ["post", "reject", "cancel", "write_off", "quick_pay", "move"])
    def test_staff_are_refused_accountant_actions(self, staff_client, account, card, action):
        target = draft_invoice(account) if action in ("post", "reject") else InvoiceFactory(account=account,
                                                                                            price="10.00")
        if action == "move":
            target = PaymentFactory(account=account, amount="10.00", method=card)
        before = FinancialTransaction.objects.count()

        response = staff_client.post(action_url(target, action), {"payment_method": card.pk})

        assert response.status_code == 403
        assert FinancialTransaction.objects.count() == before
        assert fresh(target).state == target.state

    def test_rejects_a_draft_with_a_reason(self, accountant_client, account):
        draft = draft_invoice(account)
        reason = RejectionReason.objects.get(tenant=account.tenant, text="Duplicate")

        accountant_client.post(action_url(draft, "reject"), {"reason": reason.pk})

        assert fresh(draft).state == TransactionState.REJECTED
        assert fresh(draft).rejection_reason == reason

    def test_rejecting_without_a_reason_names_the_field_and_changes_nothing(self, accountant_client, account):
        draft = draft_invoice(account)

        response = accountant_client.post(action_url(draft, "reject"), {}, follow=True)

        assert flashes(response) == ["Reason: This field is required."]
        assert fresh(draft).state == TransactionState.DRAFT

    def test_cancels_an_invoice(self, accountant_client, account):
        invoice = InvoiceFactory(account=account, price="100.00")

        response = accountant_client.post(action_url(invoice, "cancel"), follow=True)

        assert flashes(response) == ["Invoice INV-000001 cancelled by Invoice cancellation IC-000001."]
        assert fresh(account).balance == D("0.00")
        assert response.context["actions"] == ["communicate"]

    def test_a_refused_action_is_flashed_and_changes_nothing(self, accountant_client, account):
        invoice = InvoiceFactory(account=account, price="100.00")
        services.cancel_invoice(invoice=invoice, actor=None, at=AT)

        response = accountant_client.post(action_url(invoice, "cancel"), follow=True)

        assert flashes(response) == ["Invoice INV-000001 is already cancelled."]
        assert FinancialTransaction.objects.filter(classification=Classification.INVOICE_CANCELLATION).count() == 1

    def test_quick_pays_an_invoice(self, accountant_client, account, card):
        invoice = InvoiceFactory(account=account, price="100.00")
        PaymentFactory(account=account, amount="40.00", method=card)

        response = accountant_client.post(action_url(invoice, "quick_pay"),
                                          {"payment_method": card.pk, "external_reference": "till 4"}, follow=True)

        payment = FinancialTransaction.objects.get(number="PAY-000002")
        assert payment.total_amount == D("60.00")
        assert payment.external_reference == "till 4"
        assert fresh(invoice).open_amount == D("0.00")
        assert flashes(response) == ["Invoice INV-000001 paid by Payment PAY-000002 (€60.00)."]

    def test_quick_pay_with_another_tenants_method_names_the_field(self, accountant_client, account, other_tenant):
        from django_scopes import scope

        with scope(tenant=other_tenant):
            services.set_up_ledger(tenant=other_tenant)
            theirs = PaymentMethod.objects.get(tenant=other_tenant, name="Card")
        invoice = InvoiceFactory(account=account, price="100.00")

        response = accountant_client.post(action_url(invoice, "quick_pay"), {"payment_method": theirs.pk},
                                          follow=True)

        assert flashes(response) == [
            "Payment method: Select a valid choice. That choice is not one of the available choices."]
        assert fresh(invoice).open_amount == D("100.00")

    def test_writes_off_an_invoice(self, accountant_client, account):
        invoice = InvoiceFactory(account=account, price="100.00")

        accountant_client.post(action_url(invoice, "write_off"), {"type": default_type(account.tenant).pk})

        assert fresh(invoice).open_amount == D("0.00")
        assert FinancialTransaction.objects.get(classification=Classification.WRITE_OFF).total_amount == D("100.00")

    def test_moves_a_payment_to_the_suspense_account(self, accountant_client, account, card):
        payment = PaymentFactory(account=account, amount="10.00", method=card)
        suspense = services.system_account(tenant=account.tenant, kind=AccountKind.SUSPENSE, currency="EUR")

        accountant_client.post(action_url(payment, "move"), {"destination": suspense.pk})

        assert fresh(suspense).balance == D("-10.00")
        assert fresh(account).balance == D("0.00")

    def test_staff_amend_the_shared_notes(self, staff_client, staff, account):
        invoice = InvoiceFactory(account=account, price="10.00")

        staff_client.post(action_url(invoice, "notes"), {"text": "Promised Friday"})
        response = staff_client.get(detail_url(invoice))

        assert [(n.text, n.author) for n in SharedNote.objects.all()] == [("Promised Friday", staff)]
        assert "Promised Friday" in response.text

    def test_an_empty_note_names_the_field(self, staff_client, account):
        invoice = InvoiceFactory(account=account, price="10.00")

        response = staff_client.post(action_url(invoice, "notes"), {"text": ""}, follow=True)

        assert flashes(response) == ["Text: This field is required."]
        assert SharedNote.objects.count() == 0

    def test_staff_send_a_message_about_an_invoice_through_the_outbox(self, staff_client, staff, account):
        from notifications.models import Notification

        invoice = InvoiceFactory(account=account, price="100.00")

        response = staff_client.post(action_url(invoice, "communicate"), {
            "channels": ["email"], "template": "", "subject": "Invoice #invoice.number",
            "message": "#invoice.outstanding is due on #due_date.", "idempotency_key": "k-1"}, follow=True)

        notification = Notification.objects.get()
        assert flashes(response) == ["Message queued to Harriet Holloway (email)."]
        assert (notification.subject_ref, notification.recipient, notification.actor) == (
            f"finance.invoice:{invoice.pk}", "harriet@example.com", staff)
        assert notification.subject == "Invoice INV-000001"
        assert notification.body.startswith("€100.00 is due on 19 June 2026.")
        assert "harriet@example.com" in response.text  # listed under "Sent about it"

    def test_a_message_without_a_channel_names_the_field_and_sends_nothing(self, staff_client, account):
        from notifications.models import Notification

        invoice = InvoiceFactory(account=account, price="100.00")

        response = staff_client.post(action_url(invoice, "communicate"), {
            "template": "generic", "idempotency_key": "k-2"}, follow=True)

        assert flashes(response) == ["Channels: Choose email, SMS or both."]
        assert Notification.objects.count() == 0

    def test_actions_are_post_only(self, accountant_client, account):
        assert accountant_client.get(action_url(InvoiceFactory(account=account, price="1.00"),
                                                               "cancel")).status_code == 405


@pytest.mark.django_db
class TestAccountPage:
    def test_shows_balance_limit_state_open_items_transactions_and_allocations(self, staff_client, account, card):
        InvoiceFactory(account=account, price="100.00")
        PaymentFactory(account=account, amount="30.00", method=card)

        response = staff_client.get(account_url(account))

        assert response.status_code == 200
        assert [t.number for t in response.context["open_items"]] == ["INV-000001"]
        for text in ("€70.00", "€500.00", "Active", "Payment PAY-000001", "New invoice"):
            assert text in response.text
        assert len(response.context["allocations"]) == 1

    def test_the_query_count_does_not_grow_with_the_rows(self, staff_client, account, card):
        InvoiceFactory(account=account, price="10.00")
        PaymentFactory(account=account, amount="5.00", method=card)
        with CaptureQueriesContext(connection) as few:
            staff_client.get(account_url(account))
        for _ in range(6):
            InvoiceFactory(account=account, price="10.00")
            PaymentFactory(account=account, amount="5.00", method=card)

        with CaptureQueriesContext(connection) as many:
            response = staff_client.get(account_url(account))

        assert len(response.context["page"]) == 14
        # session, user, tenant, account, permissions (2), count, page, open items, allocations
        assert len(many) == len(few) == 10

    def test_accountants_get_the_state_buttons_and_staff_do_not(self, staff_client, accountant_client, account):
        assert staff_client.get(account_url(account)).context["transitions"] == []
        assert 'id="panel-refund"' not in staff_client.get(account_url(account)).text
        assert accountant_client.get(account_url(account)).context["transitions"] == ["suspend", "terminate"]

    def test_an_accountant_suspends_and_reactivates(self, accountant_client, account):
        url = reverse("finance:account_state", args=[account.pk])

        accountant_client.post(url, {"action": "suspend"})
        suspended = fresh(account).state
        response = accountant_client.post(url, {"action": "reactivate"}, follow=True)

        assert suspended == "suspended"
        assert fresh(account).state == "active"
        assert flashes(response) == ["The account is suspended.", "The account is active."]

    def test_a_refused_state_change_is_flashed(self, accountant_client, account):
        services.change_account_state(account=account, action="terminate", actor=None, at=AT)

        response = accountant_client.post(reverse("finance:account_state", args=[account.pk]),
                                          {"action": "reactivate"}, follow=True)

        assert flashes(response) == ["Action: The account is terminated; it cannot be reactivated."]
        assert fresh(account).state == "terminated"

    def test_staff_cannot_change_the_state_or_refund(self, staff_client, account, card_refund):
        state = staff_client.post(reverse("finance:account_state", args=[account.pk]), {"action": "terminate"})
        refund = staff_client.post(reverse("finance:account_refund", args=[account.pk]),
                                   {"amount": "5", "refund_method": card_refund.pk})

        assert (state.status_code, refund.status_code) == (403, 403)
        assert fresh(account).state == "active"
        assert FinancialTransaction.objects.count() == 0

    def test_a_refund_past_the_credit_limit_is_posted_with_a_warning(self, accountant_client, account, card_refund):
        response = accountant_client.post(reverse("finance:account_refund", args=[account.pk]),
                                          {"amount": "600.00", "refund_method": card_refund.pk}, follow=True)

        refund = FinancialTransaction.objects.get()
        assert refund.state == TransactionState.POSTED
        assert flashes(response) == [
            "Refund RF-000001 of €600.00 posted.",
            "This refund takes the balance to €600.00, past the credit limit of €500.00."]
        assert 'class="message warning"' in response.text

    def test_a_bad_refund_names_the_field_and_saves_nothing(self, accountant_client, account, card_refund):
        response = accountant_client.post(reverse("finance:account_refund", args=[account.pk]),
                                          {"amount": "1.001", "refund_method": card_refund.pk}, follow=True)

        assert flashes(response) == ["Amount: At most 2 decimal places."]
        assert FinancialTransaction.objects.count() == 0

    def test_another_tenants_account_is_not_found(self, other_client, account, card_refund):
        assert_404_for_other_tenant(other_client, account_url(account))
        assert_404_for_other_tenant(other_client, reverse("finance:account_state", args=[account.pk]),
                                    method="post", data={"action": "terminate"})
        assert_404_for_other_tenant(other_client, reverse("finance:account_refund", args=[account.pk]),
                                    method="post", data={"amount": "5", "refund_method": card_refund.pk})
        assert fresh(account).state == "active"

    def test_the_account_list_shows_balances(self, staff_client, account):
        InvoiceFactory(account=account, price="12.50")

        response = staff_client.get(reverse("finance:account_list"))

        assert [a.pk for a in response.context["page"]] == [account.pk]
        assert "€12.50" in response.text


@pytest.mark.django_db
class TestCustomerPanel:
    def test_the_customer_file_loads_the_panel_with_htmx(self, staff_client, customer):
        response = staff_client.get(reverse("crm:customer_detail", args=[customer.pk]))

        assert f'hx-get="/finance/customers/{customer.pk}/panel/"' in response.text

    def test_lists_the_customers_accounts_with_balances_and_links(self, staff_client, account):
        InvoiceFactory(account=account, price="42.00")

        response = staff_client.get(reverse("finance:customer_panel", args=[account.customer_id]))

        assert "<html" not in response.text
        assert "€42.00" in response.text
        assert f"/finance/accounts/{account.pk}/" in response.text
        assert f"/finance/transactions/new/invoice/?account={account.pk}" in response.text
        assert f"/finance/transactions/new/payment/?account={account.pk}" in response.text

    def test_staff_open_an_account(self, staff_client, customer, in_tenant):
        response = staff_client.post(reverse("finance:account_open", args=[customer.pk]),
                                     {"currency": "GBP", "credit_limit": "250.00", "due_date_rule": ""})

        account = Account.objects.get(tenant=in_tenant)
        assert response.status_code == 302
        assert response.url == account_url(account)
        assert (account.customer, account.currency, account.credit_limit) == (customer, "GBP", D("250.00"))

    def test_a_bad_credit_limit_names_the_field_and_opens_nothing(self, staff_client, customer, in_tenant):
        response = staff_client.post(reverse("finance:account_open", args=[customer.pk]),
                                     {"currency": "EUR", "credit_limit": "-3", "due_date_rule": ""}, follow=True)

        assert flashes(response) == [
            "No account was opened. Credit limit: The credit limit must be an amount of zero or more, with at most "
            "two decimals."]
        assert Account.objects.filter(tenant=in_tenant).count() == 0

    def test_another_tenants_customer_is_not_found(self, other_client, customer, in_tenant):
        assert_404_for_other_tenant(other_client, reverse("finance:customer_panel", args=[customer.pk]))
        assert_404_for_other_tenant(other_client, reverse("finance:account_open", args=[customer.pk]),
                                    method="post", data={"currency": "EUR", "credit_limit": "0"})
        assert Account.objects.filter(tenant=in_tenant).count() == 0


@pytest.mark.django_db
class TestSettings:
    def test_staff_are_refused(self, staff_client, ledger):
        assert staff_client.get(reverse("finance:settings_index")).status_code == 403
        assert staff_client.get(reverse("finance:setting_list", args=["tax-rates"])).status_code == 403
        assert staff_client.post(reverse("finance:setting_create", args=["tax-rates"]),
                                 {"name": "Reduced", "percent": "5"}).status_code == 403
        assert not TaxRate.objects.filter(name="Reduced").exists()

    @pytest.mark.parametrize("entity", ["products", "tax-rates", "transaction-types", "payment-methods",
                                        "refund-methods", "categories", "rejection-reasons", "issue-reasons",
                                        "due-date-rules"])
    def test_every_list_and_form_renders(self, accountant_client, ledger, entity):
        listing = accountant_client.get(reverse("finance:setting_list", args=[entity]))
        form = accountant_client.get(reverse("finance:setting_create", args=[entity]))

        assert (listing.status_code, form.status_code) == (200, 200)

    def test_creates_and_edits_a_tax_rate(self, accountant_client, ledger):
        accountant_client.post(reverse("finance:setting_create", args=["tax-rates"]), {"name": "Reduced",
                                                                                     "percent": "5"})
        rate = TaxRate.objects.get(name="Reduced")
        accountant_client.post(reverse("finance:setting_update", args=["tax-rates", rate.pk]),
                               {"name": "Reduced", "percent": "7.5"})

        assert (fresh(rate).tenant, fresh(rate).percent) == (ledger, D("7.500"))

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"name": "Standard", "percent": "5"}, "Name: Another entry already has this value."),
            ({"name": "Silly", "percent": "150"}, "Percent: Ensure this value is less than or equal to 100."),
            ({"name": "", "percent": "5"}, "Name: This field is required."),
        ],
    )
    def test_bad_input_names_the_field_and_saves_nothing(self, accountant_client, ledger, data, message):
        before = TaxRate.objects.count()

        response = accountant_client.post(reverse("finance:setting_create", args=["tax-rates"]), data)

        assert response.status_code == 200
        assert message in response.text
        assert TaxRate.objects.count() == before

    def test_a_type_lists_its_payment_methods(self, accountant_client, ledger):
        cash = PaymentMethod.objects.get(name="Cash")

        response = accountant_client.post(reverse("finance:setting_create", args=["transaction-types"]), {
            "name": "Cash payment", "classification": "payment", "payment_methods": [cash.pk]})

        kind = TransactionType.objects.get(name="Cash payment")
        assert response.status_code == 302
        assert list(kind.payment_methods.all()) == [cash]
        assert kind.is_default is False

    def test_a_second_default_type_names_the_field(self, accountant_client, ledger):
        response = accountant_client.post(reverse("finance:setting_create", args=["transaction-types"]), {
            "name": "Other payment", "classification": "payment", "is_default": "on"})

        assert "Default: Another entry already has this value." in response.text
        assert not TransactionType.objects.filter(name="Other payment").exists()

    def test_edits_the_ledger_definition(self, accountant_client, ledger):
        definition = services.set_up_ledger(tenant=ledger)

        response = accountant_client.post(reverse("finance:ledger_settings"), {
            "allocation_principle": "against_item_fifo", "due_date_rule": definition.due_date_rule_id,
            "default_write_off_product": definition.default_write_off_product_id})

        assert response.status_code == 302
        assert fresh(definition).allocation_principle == "against_item_fifo"

    def test_another_tenants_row_is_not_found(self, other_tenant, ledger):
        from crm.models import Role
        from tests.conftest import logged_in
        from tests.factories import UserFactory

        rate = TaxRate.objects.get(name="Standard")
        their_accountant = logged_in(UserFactory(tenant=other_tenant, role_keys=[Role.ACCOUNTANT]))
        url = reverse("finance:setting_update", args=["tax-rates", rate.pk])

        assert_404_for_other_tenant(their_accountant, url)
        assert_404_for_other_tenant(their_accountant, url, method="post", data={"name": "X", "percent": "1"})
        assert fresh(rate).name == "Standard"


@pytest.mark.django_db
class TestLoginRequired:
    def test_anonymous_visitors_are_sent_to_log_in(self, client):
        response = client.get(LIST)

        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_platform_support_is_refused(self, support_client):
        assert support_client.get(LIST).status_code == 403

    def test_the_nav_links_to_finance(self, staff_client, ledger):
        assert f'<a href="{LIST}" aria-current="page">Finance</a>' in staff_client.get(LIST).text



@pytest.mark.django_db
class TestIssueReasonsOnPages:
    @pytest.fixture
    def bankruptcy(self, ledger):
        return TransactionType.objects.create(tenant=ledger, classification=Classification.WRITE_OFF,
                                              name="Bankruptcy")

    def test_the_invoice_page_offers_write_off_types_and_reasons(self, accountant_client, account, bankruptcy):
        invoice = InvoiceFactory(account=account, price="100.00")

        form = accountant_client.get(detail_url(invoice)).context["write_off_form"]

        assert [str(c[1]) for c in form.fields["type"].choices] == ["Choose a type…", "Bankruptcy", "Write-off"]
        assert form["type"].value() == default_type(account.tenant).pk
        assert [str(c[1]) for c in form.fields["issue_reason"].choices] == [
            "—", "Entered in error", "Goods returned", "Goodwill gesture", "Uncollectable debt"]

    def test_writes_off_with_the_chosen_type_and_reason_and_shows_them(self, accountant_client, account, bankruptcy):
        invoice = InvoiceFactory(account=account, price="100.00")
        reason = IssueReason.objects.get(text="Uncollectable debt")

        response = accountant_client.post(action_url(invoice, "write_off"),
                                          {"type": bankruptcy.pk, "issue_reason": reason.pk}, follow=True)

        write_off = FinancialTransaction.objects.get(classification=Classification.WRITE_OFF)
        assert flashes(response) == [f"Invoice INV-000001 written off by Write-off {write_off.number}."]
        assert (write_off.type, write_off.issue_reason) == (bankruptcy, reason)
        page = accountant_client.get(detail_url(write_off)).text
        assert "<dt>Type</dt><dd>Bankruptcy</dd>" in page
        assert '<dd id="txn-issue-reason">Uncollectable debt</dd>' in page

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"type": ""}, "Write-off type: This field is required."),
            ({"type": "theirs"},
             "Write-off type: Select a valid choice. That choice is not one of the available choices."),
            ({"type": "cancellation"},
             "Write-off type: Select a valid choice. That choice is not one of the available choices."),
            ({"type": "ours", "issue_reason": "theirs"},
             "Issue reason: Select a valid choice. That choice is not one of the available choices."),
        ],
    )
    def test_a_bad_write_off_names_the_field_and_changes_nothing(self, accountant_client, account, other_tenant,
                                                                 data, message):
        from django_scopes import scope

        with scope(tenant=other_tenant):
            services.set_up_ledger(tenant=other_tenant)
            theirs = {"type": default_type(other_tenant).pk,
                      "issue_reason": IssueReason.objects.get(tenant=other_tenant, text="Goods returned").pk}
        ours = {"ours": default_type(account.tenant).pk,
                "cancellation": default_type(account.tenant, Classification.INVOICE_CANCELLATION).pk}
        invoice = InvoiceFactory(account=account, price="100.00")
        posted = {k: theirs[k] if v == "theirs" else ours.get(v, v) for k, v in data.items()}

        response = accountant_client.post(action_url(invoice, "write_off"), posted, follow=True)

        assert flashes(response) == [message]
        assert fresh(invoice).open_amount == D("100.00")
        assert fresh(account).balance == D("100.00")
        assert not FinancialTransaction.objects.filter(classification=Classification.WRITE_OFF).exists()

    def test_cancels_with_a_type_and_reason(self, accountant_client, account, ledger):
        invoice = InvoiceFactory(account=account, price="100.00")
        returned = TransactionType.objects.create(tenant=ledger, classification=Classification.INVOICE_CANCELLATION,
                                                  name="Goods returned")
        reason = IssueReason.objects.get(text="Goods returned")

        accountant_client.post(action_url(invoice, "cancel"), {"type": returned.pk, "issue_reason": reason.pk})

        cancellation = FinancialTransaction.objects.get(classification=Classification.INVOICE_CANCELLATION)
        assert (cancellation.type, cancellation.issue_reason) == (returned, reason)

    def test_a_payment_cancellation_is_offered_payment_cancellation_types(self, accountant_client, account, card):
        payment = PaymentFactory(account=account, amount="10.00", method=card)

        form = accountant_client.get(detail_url(payment)).context["cancel_form"]

        assert [str(c[1]) for c in form.fields["type"].choices] == ["Default", "Payment cancellation"]

    def test_a_credit_note_is_entered_with_an_issue_reason(self, staff_client, account):
        goodwill = IssueReason.objects.get(text="Goodwill gesture")
        data = invoice_form(account, {"description": "Refund of fee", "quantity": "1", "unit_price": "20.00"},
                            issue_reason=goodwill.pk)
        data.pop("due_on")

        response = staff_client.post(create_url("credit_note"), data)

        note = FinancialTransaction.objects.get()
        assert response.status_code == 302
        assert (note.classification, note.issue_reason) == (Classification.CREDIT_NOTE, goodwill)
        assert staff_client.get(reverse("finance:transaction_update", args=[note.pk])).context["form"][
            "issue_reason"].value() == goodwill.pk

    def test_an_invoice_form_has_no_issue_reason(self, staff_client, account):
        assert "issue_reason" not in staff_client.get(create_url("invoice")).context["form"].fields

    def test_a_refund_from_the_account_page_takes_an_issue_reason(self, accountant_client, account, card_refund):
        error = IssueReason.objects.get(text="Entered in error")

        accountant_client.post(reverse("finance:account_refund", args=[account.pk]),
                               {"amount": "5.00", "refund_method": card_refund.pk, "issue_reason": error.pk})

        assert FinancialTransaction.objects.get().issue_reason == error

    def test_the_issue_note_is_shown_beside_the_reason(self, staff_client, account, card):
        payment = services.create_transaction(account=account, classification=Classification.PAYMENT, actor=None, at=AT,
                                              data=services.TransactionData(amount="10.00", payment_method=card,
                                                                            issue_note="Customer phoned to cancel"))

        page = staff_client.get(detail_url(payment)).text

        assert '<dd id="txn-issue-note">Customer phoned to cancel</dd>' in page

    def test_an_invoice_shows_its_total_without_tax(self, staff_client, account, ledger):
        standard = TaxRate.objects.get(name="Standard")
        draft = services.create_transaction(
            account=account,
            classification=Classification.INVOICE,
            actor=None,
            at=AT,
            data=services.TransactionData(
                lines=[line("100.00", quantity="2", tax_rate=standard, discount_percent=D("10")), line("45.50")]
            ),
        )

        page = staff_client.get(detail_url(draft)).text

        # net 245.50 − discount 20.00 = 225.50; tax 36.00; total 261.50
        assert '<dt>Total without tax</dt><dd id="txn-without-tax">€225.50</dd>' in page

    def test_issue_reasons_are_managed_in_the_settings(self, accountant_client, ledger):
        accountant_client.post(reverse("finance:setting_create", args=["issue-reasons"]), {"text": "Price error"})
        reason = IssueReason.objects.get(text="Price error")
        accountant_client.post(reverse("finance:setting_update", args=["issue-reasons", reason.pk]),
                               {"text": "Wrong price"})

        listing = accountant_client.get(reverse("finance:setting_list", args=["issue-reasons"]))
        duplicate = accountant_client.post(reverse("finance:setting_create", args=["issue-reasons"]),
                                           {"text": "Goods returned"})

        assert (fresh(reason).tenant, fresh(reason).text) == (ledger, "Wrong price")
        assert "Wrong price" in listing.text
        assert "Text: Another entry already has this value." in duplicate.text
        assert IssueReason.objects.filter(tenant=ledger, text="Goods returned").count() == 1

    def test_another_tenants_issue_reason_is_not_found(self, other_tenant, ledger):
        from crm.models import Role
        from tests.conftest import logged_in
        from tests.factories import UserFactory

        reason = IssueReason.objects.get(tenant=ledger, text="Goods returned")
        their_accountant = logged_in(UserFactory(tenant=other_tenant, role_keys=[Role.ACCOUNTANT]))
        url = reverse("finance:setting_update", args=["issue-reasons", reason.pk])

        assert_404_for_other_tenant(their_accountant, url)
        assert_404_for_other_tenant(their_accountant, url, method="post", data={"text": "Mine now"})
        assert fresh(reason).text == "Goods returned"
