"""Recurring billing: schedules, the run of each period (unique per schedule and period) and the card charges
that collect those invoices (unique per invoice or instalment and number)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import TenantOwned
from finance.models import Account, DueDateRule, FinancialTransaction, Product, TaxRate
from payments.models import GatewayPayment

AMOUNT = {"max_digits": 14, "decimal_places": 2}


def default_retry_days() -> list[int]:
    return [1, 3, 7]


class BillingSettings(TenantOwned):
    """A tenant's choices for recurring invoices; the defaults apply until it saves its own."""

    post_invoices = models.BooleanField(
        default=True, help_text=_("Post each recurring invoice and email it with its pay link. Off: each is "
                                  "drafted for review, and sent when posted from its schedule."))
    retry_days = ArrayField(
        models.PositiveSmallIntegerField(), default=default_retry_days, blank=True,
        help_text=_("Days after the due date on which a declined card on file is charged again, each once."))

    class Meta:
        verbose_name_plural = _("billing settings")
        constraints = [models.UniqueConstraint("tenant", name="billingsettings_one_per_tenant")]


class Frequency(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    YEARLY = "yearly", _("Yearly")


class ScheduleState(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")


class RecurringSchedule(TenantOwned):
    """An invoice every period for an account: from ``start_on``, every week or every 1, 3 or 12 months on
    ``day_of_month``, until ``end_after`` invoices or ``end_on``. ``next_period`` is the next one to issue."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="schedules")
    name = models.CharField(max_length=100)
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    start_on = models.DateField()
    day_of_month = models.PositiveSmallIntegerField(null=True, blank=True)
    end_after = models.PositiveIntegerField(null=True, blank=True)
    end_on = models.DateField(null=True, blank=True)
    due_date_rule = models.ForeignKey(
        DueDateRule, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("When the invoices are due; empty: the account's rule."))
    collect_by_card = models.BooleanField(
        default=True, help_text=_("Charge the customer's card on file on each invoice's due date."))
    state = models.CharField(max_length=10, choices=ScheduleState.choices, default=ScheduleState.ACTIVE)
    next_period = models.PositiveIntegerField(default=1)
    next_on = models.DateField(
        null=True, blank=True, help_text=_("The next period's date; empty when no period is left. The sweep selects "
                                           "the schedules due by it."))
    paused_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=ScheduleState.values), name="schedule_state_valid"),
            models.CheckConstraint(condition=Q(frequency__in=Frequency.values), name="schedule_frequency_valid"),
            models.CheckConstraint(
                condition=Q(day_of_month__isnull=True) | Q(day_of_month__gte=1, day_of_month__lte=31),
                name="schedule_day_of_month"),
            models.CheckConstraint(condition=Q(end_after__isnull=True) | Q(end_after__gte=1),
                                   name="schedule_end_after"),
            models.CheckConstraint(condition=Q(next_period__gte=1), name="schedule_next_period"),
        ]
        indexes = [models.Index(fields=["tenant", "state", "next_on"], name="schedule_due")]

    def __str__(self) -> str:
        return self.name


class ScheduleLine(TenantOwned):
    """A line of the schedule's invoices, for periods ``from_period`` to ``until_period`` (open: onwards).
    Changing the lines ends the current ones and starts new ones from the next period."""

    schedule = models.ForeignKey(RecurringSchedule, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    description = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(**AMOUNT)
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    from_period = models.PositiveIntegerField(default=1)
    until_period = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["from_period", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="scheduleline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="scheduleline_price_not_negative"),
            models.CheckConstraint(
                condition=Q(until_period__isnull=True) | Q(until_period__gte=models.F("from_period")),
                name="scheduleline_periods_ordered"),
        ]


class ScheduleRun(TenantOwned):
    """The invoice of one period of a schedule: unique per schedule and period."""

    schedule = models.ForeignKey(RecurringSchedule, on_delete=models.PROTECT, related_name="runs")
    period = models.PositiveIntegerField()
    period_on = models.DateField()
    invoice = models.OneToOneField(FinancialTransaction, on_delete=models.PROTECT, related_name="schedule_run")
    collect_by_card = models.BooleanField(default=False)
    card_failed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the card on file first failed: a pay link was sent and dunning "
                                           "takes over."))
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-period"]
        constraints = [models.UniqueConstraint("schedule", "period", "tenant", name="schedulerun_once_per_period")]


class AttemptResult(models.TextChoices):
    PENDING = "", _("Not yet answered")
    SUCCEEDED = "succeeded", _("Paid")
    PROCESSING = "processing", _("Processing")
    AUTHENTICATION_REQUIRED = "authentication_required", _("Needs the customer (3-D Secure)")
    DECLINED = "declined", _("Declined")
    NO_CARD = "no_card", _("No card on file")
    UNAVAILABLE = "unavailable", _("Provider did not answer")


FAILED_RESULTS = (AttemptResult.AUTHENTICATION_REQUIRED, AttemptResult.DECLINED, AttemptResult.NO_CARD)


class CollectionAttempt(TenantOwned):
    """One charge of the card on file for a recurring invoice (``run``) or an obligation's instalment: number 0
    on the due date, then each retry."""

    run = models.ForeignKey(ScheduleRun, on_delete=models.PROTECT, related_name="attempts", null=True, blank=True)
    instalment = models.ForeignKey("obligations.Instalment", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="card_attempts")
    number = models.PositiveSmallIntegerField()
    payment = models.OneToOneField(GatewayPayment, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="collection_attempt")
    result = models.CharField(max_length=30, choices=AttemptResult.choices, blank=True)
    message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "number", "id"]
        constraints = [
            models.UniqueConstraint("run", "number", "tenant", condition=Q(run__isnull=False),
                                    name="collectionattempt_once"),
            models.UniqueConstraint("instalment", "number", "tenant", condition=Q(instalment__isnull=False),
                                    name="collectionattempt_instalment_once"),
            models.CheckConstraint(
                condition=Q(run__isnull=False, instalment__isnull=True) | Q(run__isnull=True, instalment__isnull=False),
                name="collectionattempt_one_subject"),
        ]
