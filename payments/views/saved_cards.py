"""The customer file's cards on file: brand, last four, expiry and the consent given; staff remove one."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm import selectors as crm_selectors
from crm.access import staff_view
from payments.models import RemovedVia, SavedCard
from payments.services import saved_cards


def _panel(request, customer, *, status: int = 200, message: str = ""):
    cards = saved_cards.cards_of(customer=customer, include_removed=True).select_related("removed_by")
    return render(request, "payments/_cards_panel.html", {
        "customer": customer, "cards": cards, "today": timezone.localdate(), "message": message}, status=status)


@staff_view
@require_GET
def cards_panel(request, customer_id: int):
    return _panel(request, crm_selectors.get_customer(tenant=request.tenant, customer_id=customer_id))


@staff_view
@require_POST
def card_remove(request, card_id: int):
    card = SavedCard.objects.select_related("customer", "gateway_account").filter(
        tenant=request.tenant, pk=card_id).first()
    if card is None:
        raise Http404(_("No such card."))
    saved_cards.remove_card(card=card, via=RemovedVia.STAFF, actor=request.user, at=timezone.now())
    return _panel(request, card.customer, message=_("%(card)s was removed; it will not be charged again.") % {
        "card": card})
