"""Printouts: the HTML a page shows, rendered to PDF by WeasyPrint (ledger documents and receipts).

Stylesheets and images come from the static files on this machine, never over the network, so a
PDF renders the same offline and cannot be made to fetch an address of someone else's choosing.
"""

from __future__ import annotations

import mimetypes
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import weasyprint
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core import signing
from django.http import HttpResponse
from weasyprint.urls import URLFetcher, URLFetcherResponse


class StaticFilesFetcher(URLFetcher):
    """Serves ``/static/…`` from the collected or source static files; refuses anything else."""

    def fetch(self, url, headers=None):
        path = unquote(urlsplit(url).path)
        prefix = "/" + settings.STATIC_URL.lstrip("/")
        if not path.startswith(prefix):
            raise ValueError(f"Printouts load only static files, not {url}.")
        name = path.removeprefix(prefix)
        found = _static_file(name)
        if found is None:
            raise ValueError(f"No static file {name}.")
        content_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=found.read_bytes(), headers={"Content-Type": content_type})


def _static_file(name: str) -> Path | None:
    if ".." in Path(name).parts:
        return None
    collected = Path(staticfiles_storage.path(name))
    if collected.is_file():
        return collected
    source = finders.find(name)
    return Path(source) if source else None


def render_pdf(*, html: str, base_url: str) -> bytes:
    """The PDF of ``html``; ``base_url`` is the page's own address, against which its links resolve."""
    return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=StaticFilesFetcher()).write_pdf()


def pdf_response(request, *, html: str, filename: str) -> HttpResponse:
    """The PDF of the page ``html`` that ``request`` asked for, shown inline as ``filename``."""
    response = HttpResponse(render_pdf(html=html, base_url=request.build_absolute_uri()),
                            content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# --- printouts of ledger documents -------------------------------------------------------------------

PRINTOUT_SALT = "finance.printout"
PRINTOUT_LINK_DAYS = 90


def printout_token(*, tenant_id: int, transaction_id: int) -> str:
    """A signed, tamper-proof token naming one transaction of one tenant: the customer's link to its
    printout. Nothing is stored; the link works for ``PRINTOUT_LINK_DAYS`` days."""
    return signing.dumps({"t": tenant_id, "x": transaction_id}, salt=PRINTOUT_SALT, compress=True)


def read_printout_token(token: str) -> tuple[int, int] | None:
    """``(tenant_id, transaction_id)`` of a valid token; ``None`` for a forged, altered or expired one."""
    try:
        value = signing.loads(token, salt=PRINTOUT_SALT, max_age=timedelta(days=PRINTOUT_LINK_DAYS))
        return int(value["t"]), int(value["x"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
