"""Staff pages of payments."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from crm.access import require_permission, staff_view
from gateways.models import WebhookOutcome
from payments import selectors, services

PER_PAGE = 50


@staff_view
def webhook_list(request):
    outcome = request.GET.get("outcome", "")
    if outcome not in WebhookOutcome.values:
        outcome = ""
    page = Paginator(selectors.webhook_deliveries(tenant=request.tenant, outcome=outcome), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "payments/webhook_list.html",
                  {"page": page, "outcome": outcome, "outcomes": WebhookOutcome.choices})


@staff_view
@require_POST
def webhook_replay(request, delivery_id: int):
    require_permission(request, "crm.manage_payments", "Only payment managers replay webhooks.")
    delivery = selectors.get_webhook_delivery(tenant=request.tenant, delivery_id=delivery_id)
    if delivery.outcome == WebhookOutcome.REJECTED:
        messages.error(request, "A delivery refused for its signature cannot be replayed.")
    else:
        services.replay_webhook_delivery(delivery=delivery)
        messages.success(request, f"Delivery {delivery.event_id} will be processed again.")
    return redirect("payments:webhook_list")
