"""Segments: saved filters over transactions, customers or instalments, used by a report, an export and a bulk
message."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from crm.models import TenantOwned


class SegmentSubject(models.TextChoices):
    TRANSACTIONS = "transactions", "Financial transactions"
    CUSTOMERS = "customers", "Customers"
    INSTALMENTS = "instalments", "Instalments"


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
