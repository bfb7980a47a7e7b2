"""Printouts: the HTML a page shows, rendered to PDF by WeasyPrint.

Stylesheets and images come from the static files on this machine, never over the network, so a
PDF renders the same offline and cannot be made to fetch an address of someone else's choosing.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

import weasyprint
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
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
