"""Reads shared by pages and the API. Every getter answers 404 alike for "missing" and "another
tenant's"."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from crm.models import Customer, Tenant


def get_customer(*, tenant: Tenant, customer_id: int) -> Customer:
    try:
        return Customer.objects.get(tenant=tenant, pk=customer_id)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such customer.")) from None


def search_customers(*, tenant: Tenant, query: str = "") -> QuerySet[Customer]:
    customers = Customer.objects.filter(tenant=tenant)
    for term in query.split():
        customers = customers.filter(
            Q(name__icontains=term) | Q(email__icontains=term) | Q(phone__contains=term) | Q(city__icontains=term)
        )
    return customers.order_by("name", "id")


def _who(record) -> str:
    if record.history_user is not None:
        return record.history_user.get_full_name() or record.history_user.username
    return record.history_change_reason or _("the system")


def customer_history(*, customer: Customer) -> list[dict]:
    """The audit trail of a customer, newest first: who changed which fields, from what, to what."""
    records = list(customer.history.select_related("history_user").order_by("-history_date", "-history_id"))
    trail = []
    for newer, older in zip(records, [*records[1:], None], strict=True):
        changes = []
        if older is not None:
            delta = newer.diff_against(older, foreign_keys_are_objs=False)
            changes = [
                {"field": Customer._meta.get_field(c.field).verbose_name, "old": c.old, "new": c.new}
                for c in delta.changes
            ]
        trail.append(
            {
                "at": newer.history_date,
                "user": newer.history_user,
                "who": _who(newer),
                "kind": newer.get_history_type_display(),
                "reason": newer.history_change_reason or "",
                "changes": changes,
            }
        )
    return trail
