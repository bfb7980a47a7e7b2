"""Segments: saved filters over transactions, customers or instalments, used by a report, an export and a bulk
message."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import TenantOwned


class SegmentSubject(models.TextChoices):
    TRANSACTIONS = "transactions", _("Financial transactions")
    CUSTOMERS = "customers", _("Customers")
    INSTALMENTS = "instalments", _("Instalments")


class Segment(TenantOwned):
    """A named filter. ``rules`` holds only keys the selectors know (validated by the service):
    transactions — ``classification``, ``currency``, ``state``, ``overdue_days``, ``min_amount``;
    customers — ``currency``, ``min_balance``, ``overdue_days``; instalments — ``currency``, ``state``
    (unpaid, paid), ``overdue_days``, ``min_amount``."""

    name = models.CharField(max_length=100)
    subject = models.CharField(max_length=20, choices=SegmentSubject.choices)
    rules = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint("tenant", "name", name="segment_name_unique"),
            models.CheckConstraint(condition=Q(subject__in=SegmentSubject.values), name="segment_subject_valid"),
        ]

    def __str__(self) -> str:
        return self.name


# --- daily figures: the ledger's postings summed per day, kept by the database ---------------------

FIGURE = {"max_digits": 18, "decimal_places": 2}


class DailyFigure(TenantOwned):
    """What was posted on one day of the tenant's calendar, per currency, classification, kind of
    account (a customer's or a system account), transaction type and payment method: the count and
    the sums of the amounts. The dashboard reads its months from here instead of a year of postings.

    Written only by PostgreSQL triggers on ``finance_financialtransaction`` (migration 0003), in the
    posting's own database transaction, when a transaction becomes posted; posted transactions never
    change, so a day's figures only ever grow. The days are the tenant's calendar days: changing a
    tenant's time zone recomputes its figures (``reports_rebuild_figures(tenant_id)``, by a trigger).

    ``method`` is a payment's method, and for a payment cancellation the cancelled payment's. The
    ``revenue_*`` sums are what revenue counts: a transaction's own amounts, except for an invoice
    cancellation, which counts the cancelled invoice's (``reports.selectors.revenue_by_type``)."""

    day = models.DateField()
    currency = models.CharField(max_length=3)
    classification = models.CharField(max_length=24)
    customer_account = models.BooleanField()
    type = models.ForeignKey("finance.TransactionType", on_delete=models.DO_NOTHING, db_constraint=False, null=True,
                             db_index=False, related_name="+")
    method = models.ForeignKey("finance.PaymentMethod", on_delete=models.DO_NOTHING, db_constraint=False, null=True,
                               db_index=False, related_name="+")
    count = models.BigIntegerField()
    net_amount = models.DecimalField(**FIGURE)
    discount_amount = models.DecimalField(**FIGURE)
    tax_amount = models.DecimalField(**FIGURE)
    total_amount = models.DecimalField(**FIGURE)
    revenue_net = models.DecimalField(**FIGURE)
    revenue_discount = models.DecimalField(**FIGURE)
    revenue_tax = models.DecimalField(**FIGURE)
    revenue_without_tax = models.DecimalField(**FIGURE)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "tenant", "day", "currency", "classification", "customer_account", "type", "method",
                name="dailyfigure_one_row_per_group", nulls_distinct=False,
            ),
        ]


class DailyProductFigure(TenantOwned):
    """Invoice lines posted on one day of the tenant's calendar on customers' accounts, per currency
    and product (none is a group of its own): how many, and their revenue without tax (net −
    discount). Kept by the same triggers as ``DailyFigure``."""

    day = models.DateField()
    currency = models.CharField(max_length=3)
    product = models.ForeignKey("finance.Product", on_delete=models.DO_NOTHING, db_constraint=False, null=True,
                                db_index=False, related_name="+")
    lines = models.BigIntegerField()
    revenue = models.DecimalField(**FIGURE)

    class Meta:
        constraints = [
            models.UniqueConstraint("tenant", "day", "currency", "product", name="dailyproductfigure_one_row_per_group",
                                    nulls_distinct=False),
        ]
