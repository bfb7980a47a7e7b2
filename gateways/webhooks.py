"""Where providers deliver webhooks: ``/webhooks/<provider>/<account token>/``.

The token names the tenant's gateway account, so a delivery is tied to its tenant before its body
is parsed. Answers: 200 stored (or a duplicate of one stored), 400 bad signature (or a Content-Length
that is not a number), 404 unknown account, 413 a body over 256 KiB.

Each process remembers the accounts it has stored a delivery for, so that the next delivery for one
of them skips the account's lookup (about a third of a delivery's CPU, measured in-process). It
trusts the copy only as far as the database agrees: the statement that stores the delivery also
checks that the account's row still holds what the copy holds (``inbox.receive_webhook``'s
``remembered``). When it does not, or when the answer needs the row (a bad signature, a duplicate),
nothing is stored, the copy is forgotten and the account is read again, as for a first delivery.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gateways import inbox
from gateways.base import InvalidWebhookSignature
from gateways.models import GatewayAccount

REMEMBERED_MAX = 1000  # accounts per process; past it, all are forgotten at once and read again
_remembered: dict[tuple[str, str], GatewayAccount] = {}


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The not-found answer of ``gateways.webhook_urls`` (its ``handler404``)."""
    return _unknown_endpoint()


def _unknown_endpoint() -> JsonResponse:
    return JsonResponse({"detail": "Unknown webhook endpoint."}, status=404)


@csrf_exempt
@require_POST
def receive(request: HttpRequest, provider: str, token) -> HttpResponse:
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return JsonResponse({"detail": "The Content-Length is not a number."}, status=400)
    if length > inbox.MAX_BODY_BYTES:
        return JsonResponse({"detail": "The body is too large."}, status=413)
    body = request.body
    if len(body) > inbox.MAX_BODY_BYTES:
        return JsonResponse({"detail": "The body is too large."}, status=413)
    # Intake runs outside any tenant scope, as the token lookup does: the delivery's tenant is the
    # account's, and storing it is one statement, with no transaction or role to set around it. Its
    # processing (a task) runs in the tenant's scope.
    key, at = (provider, str(token)), timezone.now()
    if (remembered := _remembered.get(key)) is not None:
        try:
            received = inbox.receive_webhook(account=remembered, headers=request.headers, body=body, at=at,
                                             remembered=True)
        except inbox.StaleAccount:
            _remembered.pop(key, None)
        else:
            return _answer(provider, body, received)
    try:
        account = GatewayAccount.objects.with_scopes_disabled().get(provider=provider, webhook_token=token,
                                                                    enabled=True)
    except GatewayAccount.DoesNotExist:
        return _unknown_endpoint()
    try:
        received = inbox.receive_webhook(account=account, headers=request.headers, body=body, at=at)
    except InvalidWebhookSignature:
        return JsonResponse({"detail": "Invalid signature."}, status=400)
    if len(_remembered) >= REMEMBERED_MAX:
        _remembered.clear()
    _remembered[key] = account
    return _answer(provider, body, received)


def _answer(provider: str, body: bytes, received: inbox.Received) -> HttpResponse:
    if provider == "cashflows":
        # Cashflows keeps re-sending until the answer echoes the references it sent.
        return HttpResponse(body, content_type="application/json")
    return JsonResponse({"received": True, "duplicate": received.duplicate})
