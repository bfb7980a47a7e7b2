"""Same-origin form posts from ``no-referrer`` pages, for Django's CSRF protection.

Pages whose URL is a capability (pay links, receipts, the portal) send ``Referrer-Policy: no-referrer``
so the token never leaves in a Referer. Browsers then send ``Origin: null`` with the page's own form
POSTs, which Django's origin check refuses. ``Sec-Fetch-Site`` is set by the browser alone (no page's
script can set it), so ``Origin: null`` with ``Sec-Fetch-Site: same-origin`` is a post from this very
site: this middleware, placed just before ``CsrfViewMiddleware``, gives it back the site's origin.
Everything else is left to Django unchanged, and the CSRF token is still required and checked.
"""

from __future__ import annotations

from django.core.exceptions import DisallowedHost


class NullOriginMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        if meta.get("HTTP_ORIGIN") == "null" and meta.get("HTTP_SEC_FETCH_SITE") == "same-origin":
            try:
                meta["HTTP_ORIGIN"] = f"{'https' if request.is_secure() else 'http'}://{request.get_host()}"
            except DisallowedHost:
                pass  # left null: Django refuses it as before
        return self.get_response(request)
