"""A tenant that speaks Spanish (or German) reads every staff page in it: no English is left.

The walker visits every staff page of the site (the URL walker's list, so a page added tomorrow is
visited too) as the staff of a tenant whose language is Spanish, and reads every word a person sees:
the text, and the placeholders, titles and labels of controls. A word counts as English when the
English catalogue uses it and no translation does (so "total", "email" or "IBAN", the same in both,
never count) and it is not the tenant's own data (a customer's name, a product the tenant named).
Any such word fails the test with the page and the text it sits in: an unmarked string, a label
Django made from a field name, or a catalogue entry left untranslated.
"""

from __future__ import annotations

import io
import re
import zoneinfo
from html.parser import HTMLParser
from pathlib import Path

import django
import pypdf
import pytest
from babel import Locale
from babel.messages.pofile import read_po
from django.apps import apps
from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import translation
from django_countries import countries
from django_scopes import scopes_disabled

from tests.conftest import logged_in
from tests.factories import TenantFactory
from tests.security.test_url_walker import ROUTES, family, walk
from tests.security.world import build_world

WORD = re.compile(r"[^\W\d_]{3,}")
TAG = re.compile(r"#[a-z_]+(?:\.[a-z_]+)?")  # a message tag (#customer.phone) is the same in every language
SHOWN_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
CODE = re.compile(r"[a-z0-9_.:/-]+")  # a key Duly stores (a state, an event, an action): not the tenant's words
INVISIBLE = {"script", "style", "template", "noscript"}


def words(text: str) -> set[str]:
    return {word.lower() for word in WORD.findall(text)}


def catalogue(root: Path, language: str):
    with open(root / "locale" / language / "LC_MESSAGES" / "django.po", "rb") as po:
        return read_po(po, locale=language)


def english_words(language: str) -> set[str]:
    """Words the English strings (Duly's and Django's own, which forms show) use and no translation into
    ``language`` does."""
    english, translated = set(), set()
    for message in [*catalogue(Path(settings.BASE_DIR), language), *catalogue(Path(django.__file__).parent / "conf",
                                                                            language)]:
        if not message.id:
            continue
        for text in message.id if isinstance(message.id, tuple) else (message.id,):
            english |= words(TAG.sub(" ", re.sub(r"%\(\w+\)[sd]", " ", text)))
        for text in message.string if isinstance(message.string, tuple) else (message.string,):
            translated |= words(text)
    cldr = Locale.parse(language)  # dates come from CLDR: "may" is May in English and in Spanish
    for names in (cldr.months, cldr.days):
        for context in names.values():
            for width in context.values():
                translated |= words(" ".join(width.values()))
    with translation.override(language):  # proper names: the countries, and each language named in itself
        translated |= words(" ".join(str(name) for _, name in countries))
    translated |= words(" ".join(name for _, name in [*settings.LANGUAGES, *settings.CUSTOMER_LANGUAGES]))
    translated |= words(" ".join(zoneinfo.available_timezones()).replace("_", " "))  # IANA's names, as codes
    return english - translated


def stored_key(value: str) -> bool:
    """A key Duly stores (a state, an event, an action) or a provider's JSON: not words the tenant wrote."""
    return bool(CODE.fullmatch(value)) or value.lstrip().startswith(("{", "["))


def data_words(tenant) -> set[str]:
    """Every word of the tenant's own rows: names, references and texts staff typed (not the keys Duly
    stores, such as a state, which a page must show translated)."""
    found = set()
    with scopes_disabled():
        for model in apps.get_models():
            if not any(f.name == "tenant" for f in model._meta.fields):
                continue
            columns = [f.name for f in model._meta.fields
                       if isinstance(f, (models.CharField, models.TextField)) and not f.choices]
            for row in model._base_manager.filter(tenant=tenant).values_list(*columns):
                found |= words(" ".join(str(value) for value in row if value and not stored_key(str(value))))
    for user in tenant.users.all():
        found |= words(f"{user.username} {user.get_full_name()}")
    return found


class ShownTexts(HTMLParser):
    """The texts of a page a person reads: its text and the words on its controls."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.open: list[tuple[str, bool]] = []  # each open element, and whether it (or a parent) is unseen

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        unseen = (bool(self.open and self.open[-1][1]) or tag in INVISIBLE or "hidden" in attributes
                  or attributes.get("type") == "hidden")
        if not unseen:
            self.texts += [attributes[name] for name in SHOWN_ATTRIBUTES if attributes.get(name)]
        if tag not in self.VOID:
            self.open.append((tag, unseen))

    def handle_endtag(self, tag):
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                del self.open[index:]
                break

    def handle_data(self, data):
        if data.strip() and not (self.open and self.open[-1][1]):
            self.texts.append(" ".join(data.split()))


def shown_texts(page: str) -> list[str]:
    parser = ShownTexts()
    parser.feed(page)
    return parser.texts


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["es", "de"])
def test_every_staff_page_of_a_tenant_speaking_it_has_no_english_left(language, settings):
    settings.DULY_DEV_TOOLS = True
    tenant = TenantFactory(name="Acme Brokers", slug="acme", locale=language)
    world = build_world(tenant)
    english = english_words(language) - data_words(tenant)
    staff = logged_in(world.staff)
    staff.raise_request_exception = False
    left, walked = [], 0
    for route in walk():
        kind = ROUTES.get(route.key)
        if family(route) != "site" or kind is None or kind.kind not in ("staff", "own") or not route.name:
            continue
        url = reverse(route.name, kwargs=kind.kwargs(world))
        response = staff.get(url)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        walked += 1
        page = response.content.decode()
        assert f'<html lang="{language}">' in page or not page.lstrip().startswith("<!doctype"), url
        for text in shown_texts(page):
            if found := sorted(words(TAG.sub(" ", text)) & english):
                left.append(f"{url}: {text!r} ({', '.join(found)})")

    assert walked > 40
    assert not left, "\n".join(left)


@pytest.mark.django_db
def test_the_printed_invoice_of_a_spanish_tenant_is_in_spanish():
    tenant = TenantFactory(name="Acme Brokers", slug="acme", locale="es")
    world = build_world(tenant)
    english = english_words("es") - data_words(tenant)

    pdf = logged_in(world.staff).get(reverse("finance:transaction_printout", args=[world.fee.pk]) + "?format=pdf")
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)

    assert pdf["Content-Type"] == "application/pdf"
    assert "Factura" in text and "Facturar a" in text and "Total sin impuestos" in text
    assert sorted(words(text) & english) == []
