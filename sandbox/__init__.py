"""The Sandbox provider's *server*, an app of its own served by Duly: the API that ``gateways.sandbox`` talks to over
HTTP, the hosted payment page, the embedded card fields, and signed webhooks back into the normal inbox.

It plays a remote provider, so it is written like one: the API authenticates the account secret
(``Authorization: Bearer``), a checkout belongs to the tenant whose secret created it, and every state change
produces the exact body and headers a remote provider would POST to ``/webhooks/sandbox/<token>/``. Instead of
travelling over the network they are handed to :func:`gateways.inbox.receive_webhook` in-process, after the
transaction commits, so they go through the same verification, storage and processing as any provider's.
The contract (paths, JSON shapes, signature) is written down in ``gateways.sandbox``, which this module must
not import (providers are reached only through the registry), so the signature is computed here too.

Test cards (any future expiry ``MM/YY``, any 3–4 digit CVC, any name):

* ``4242 4242 4242 4242`` succeeds → ``succeeded``, ``checkout.succeeded``, the payer goes to ``return_url``.
* ``4000 0000 0000 0002`` is declined ("Your card was declined."): the attempt is counted and a
  ``checkout.failed`` event sent, but the checkout stays ``pending`` so the payer can try another card
  (Duly's "complete after a failed attempt"); it ends only by succeeding, expiring or being cancelled.
* ``4000 0000 0000 0077`` stays ``processing`` (``checkout.processing``; the payer goes to ``return_url``) until
  settled: the "Settle" buttons on ``/sandbox/pay/<id>/`` (``POST /sandbox/pay/<id>/settle/``) or
  ``POST /sandbox/api/checkouts/<id>/settle`` make it succeed (or fail).

Embedding the card fields (``mode=card_fields``): the payment page puts
``<iframe src="/sandbox/fields/<client_token>/" title="Card details">`` on the page (the same site as the
sandbox, which the frame allows: ``X-Frame-Options: SAMEORIGIN``) and listens for
``message`` events whose ``data.type`` is ``"sandbox:result"``: ``data.status`` is ``succeeded``, ``processing``,
``failed`` (declined; the fields stay usable for another card) or the checkout's final status when it can no
longer be paid (``expired``, ``cancelled``, ``succeeded``); ``data.checkout`` is the checkout id and
``data.message`` a sentence for the payer. The message is a hint for the page only (check ``event.origin``):
the payment is settled by the webhook or by fetching the status, never by the message.
"""
