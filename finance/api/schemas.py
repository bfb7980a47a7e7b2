"""The shapes the ledger's API speaks: amounts as decimal strings with their currency."""

from datetime import date, datetime

from ninja import Field, Schema

from finance import selectors
from finance.models import TransactionState


class MoneyOut(Schema):
    amount: str
    currency: str


class MoneyIn(Schema):
    amount: str = Field(..., examples=["12.50"])
    currency: str = Field(..., examples=["EUR"])


def _money(amount, currency) -> dict:
    return {"amount": f"{amount:.2f}", "currency": currency}


class AccountIn(Schema):
    customer: int
    currency: str
    credit_limit: str = "0.00"
    due_date_rule: int | None = None
    name: str = ""


class AccountOut(Schema):
    id: int
    name: str
    kind: str
    customer: int | None
    currency: str
    state: str
    balance: MoneyOut
    credit_limit: MoneyOut
    due_date_rule: int | None
    created_at: datetime

    @staticmethod
    def resolve_customer(obj) -> int | None:
        return obj.customer_id

    @staticmethod
    def resolve_due_date_rule(obj) -> int | None:
        return obj.due_date_rule_id

    @staticmethod
    def resolve_balance(obj) -> dict:
        return _money(obj.balance, obj.currency)

    @staticmethod
    def resolve_credit_limit(obj) -> dict:
        return _money(obj.credit_limit, obj.currency)


class OpenItemOut(Schema):
    id: int
    number: str
    classification: str
    direction: str
    posted_at: datetime | None
    due_on: date | None
    total: MoneyOut
    open: MoneyOut

    @staticmethod
    def resolve_total(obj) -> dict:
        return _money(obj.total_amount, obj.currency)

    @staticmethod
    def resolve_open(obj) -> dict:
        return _money(obj.open_amount, obj.currency)


class AccountDetailOut(AccountOut):
    open_items: list[OpenItemOut]

    @staticmethod
    def resolve_open_items(obj) -> list:
        return list(selectors.open_items(account=obj))


class LineIn(Schema):
    description: str = ""
    quantity: str = "1"
    unit_price: str
    discount_percent: str | None = None
    discount_amount: str | None = None
    product: int | None = None
    tax_rate: int | None = None


class TransactionIn(Schema):
    account: int
    classification: str
    post: bool = Field(False, description="Post it at once instead of saving a draft.")
    type: int | None = None
    lender: int | None = Field(None, description=(
        "An invoice of a fee type due from a lender or provider names it: the fee is booked on the lender's "
        "account, in the currency of `account` (the customer's), about that customer."))
    lines: list[LineIn] = []
    amount: MoneyIn | None = Field(None, description="Payments and refunds; invoices and credit notes have lines.")
    due_on: date | None = None
    payment_method: int | None = None
    refund_method: int | None = None
    category: int | None = None
    issue_reason: int | None = Field(None, description="One of the tenant's issue reasons: credit notes and refunds.")
    targets: list[int] = Field([], description="Posted invoices a payment pays or a credit note credits.")
    back_office_code: str = ""
    external_reference: str = ""
    notes: str = ""


class TransactionPatch(Schema):
    type: int | None = None
    lines: list[LineIn] | None = None
    amount: MoneyIn | None = None
    due_on: date | None = None
    payment_method: int | None = None
    refund_method: int | None = None
    category: int | None = None
    issue_reason: int | None = None
    targets: list[int] | None = None
    back_office_code: str | None = None
    external_reference: str | None = None


class LineOut(Schema):
    position: int
    product: int | None
    description: str
    quantity: str
    unit_price: MoneyOut
    discount_percent: str | None
    tax_percent: str
    net: MoneyOut
    discount: MoneyOut
    tax: MoneyOut
    total: MoneyOut

    @staticmethod
    def resolve_product(obj) -> int | None:
        return obj.product_id

    @staticmethod
    def resolve_quantity(obj) -> str:
        return f"{obj.quantity.normalize():f}"

    @staticmethod
    def resolve_discount_percent(obj) -> str | None:
        return None if obj.discount_percent is None else str(obj.discount_percent)

    @staticmethod
    def resolve_tax_percent(obj) -> str:
        return f"{obj.tax_percent.normalize():f}"

    @staticmethod
    def resolve_unit_price(obj) -> dict:
        return _money(obj.unit_price, obj.transaction.currency)

    @staticmethod
    def resolve_net(obj) -> dict:
        return _money(obj.net_amount, obj.transaction.currency)

    @staticmethod
    def resolve_discount(obj) -> dict:
        return _money(obj.discount_amount, obj.transaction.currency)

    @staticmethod
    def resolve_tax(obj) -> dict:
        return _money(obj.tax_amount, obj.transaction.currency)

    @staticmethod
    def resolve_total(obj) -> dict:
        return _money(obj.total_amount, obj.transaction.currency)


class AllocationOut(Schema):
    id: int
    credit: int
    debit: int
    amount: MoneyOut
    created_at: datetime
    reversed_at: datetime | None
    reversal_reason: str

    @staticmethod
    def resolve_credit(obj) -> int:
        return obj.credit_id

    @staticmethod
    def resolve_debit(obj) -> int:
        return obj.debit_id

    @staticmethod
    def resolve_amount(obj) -> dict:
        return _money(obj.amount, obj.currency)


class TransactionSummaryOut(Schema):
    id: int
    account: int
    customer: int | None
    lender: int | None = Field(description="The lender or provider a fee is due from (its account's).")
    for_customer: int | None = Field(description="The customer a lender's fee is about.")
    classification: str
    direction: str
    type: str
    state: str
    reference_number: str
    number: str
    back_office_code: str
    external_reference: str
    issued_at: datetime
    posted_at: datetime | None
    due_on: date | None
    payment_method: int | None
    refund_method: int | None
    net: MoneyOut
    discount: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    total_without_tax: MoneyOut = Field(description="Net less discount, as the revenue report counts it.")
    outstanding: MoneyOut | None = Field(description="What is left to pay of a posted debit (open amount).")
    unallocated: MoneyOut | None = Field(description="What is left to allocate of a posted credit.")

    @staticmethod
    def resolve_account(obj) -> int:
        return obj.account_id

    @staticmethod
    def resolve_customer(obj) -> int | None:
        return obj.account.customer_id

    @staticmethod
    def resolve_lender(obj) -> int | None:
        return obj.account.lender_id

    @staticmethod
    def resolve_for_customer(obj) -> int | None:
        return obj.for_customer_id

    @staticmethod
    def resolve_type(obj) -> str:
        return obj.type.name

    @staticmethod
    def resolve_payment_method(obj) -> int | None:
        return obj.payment_method_id

    @staticmethod
    def resolve_refund_method(obj) -> int | None:
        return obj.refund_method_id

    @staticmethod
    def resolve_net(obj) -> dict:
        return _money(obj.net_amount, obj.currency)

    @staticmethod
    def resolve_discount(obj) -> dict:
        return _money(obj.discount_amount, obj.currency)

    @staticmethod
    def resolve_tax(obj) -> dict:
        return _money(obj.tax_amount, obj.currency)

    @staticmethod
    def resolve_total(obj) -> dict:
        return _money(obj.total_amount, obj.currency)

    @staticmethod
    def resolve_total_without_tax(obj) -> dict:
        return _money(obj.total_without_tax, obj.currency)

    @staticmethod
    def resolve_outstanding(obj) -> dict | None:
        if obj.state != TransactionState.POSTED or not obj.is_debit:
            return None
        return _money(obj.open_amount, obj.currency)

    @staticmethod
    def resolve_unallocated(obj) -> dict | None:
        if obj.state != TransactionState.POSTED or obj.is_debit:
            return None
        return _money(obj.open_amount, obj.currency)


class IssueReasonOut(Schema):
    id: int
    text: str


class TransactionOut(TransactionSummaryOut):
    rejection_reason: str | None
    issue_reason: IssueReasonOut | None
    issue_note: str = Field(description="What the system recorded about why it was issued (a moved payment, a "
                                        "written-off invoice), or an issue reason typed as free text.")
    related: int | None
    targets: list[int]
    notes: str
    lines: list[LineOut]
    allocations: list[AllocationOut]

    @staticmethod
    def resolve_rejection_reason(obj) -> str | None:
        return obj.rejection_reason.text if obj.rejection_reason_id else None

    @staticmethod
    def resolve_related(obj) -> int | None:
        return obj.related_id

    @staticmethod
    def resolve_targets(obj) -> list[int]:
        return [t.pk for t in selectors.targets_of(txn=obj)]

    @staticmethod
    def resolve_notes(obj) -> str:
        latest = selectors.notes_of(txn=obj).last()
        return latest.text if latest else ""

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(selectors.lines_of(txn=obj).select_related("transaction"))

    @staticmethod
    def resolve_allocations(obj) -> list:
        return list(selectors.allocations_of(txn=obj))


class RefundOut(Schema):
    transaction: TransactionOut
    warnings: list[str]


class TransactionFilters(Schema):
    classification: str = ""
    state: str = ""
    account: int | None = None
    customer: int | None = None
    posted_from: date | None = None
    posted_to: date | None = None
    number: str = ""


class RejectIn(Schema):
    reason: int


class QuickPayIn(Schema):
    payment_method: int
    external_reference: str = ""


class MoveIn(Schema):
    destination: int


class RefundIn(Schema):
    amount: MoneyIn
    refund_method: int
    issue_reason: int | None = None
    external_reference: str = ""


class CancelIn(Schema):
    type: int | None = Field(None, description="An invoice or payment cancellation type; the default when none.")
    issue_reason: int | None = None


class WriteOffIn(Schema):
    type: int | None = Field(None, description="A write-off type: mandatory (422 when missing).")
    issue_reason: int | None = None
