"""Language, time zone and formats: one place decides how a date, a time or an amount reads.

A page or a message is rendered inside ``localized``: the language (a tenant's, a staff member's or a
customer's) refined by the tenant's country — ``en`` in Great Britain reads ``20 May 2026`` and ``£12.50``,
``es`` in Panama ``05/20/2026`` and ``B/.12.50``, ``de`` ``20.05.2026`` and ``12,50 €`` — and the time zone
the reader lives in. The formats are Babel's (CLDR), through ``day``, ``weekday``, ``moment`` and ``money`` here and the
template filters of the same names; nothing else formats a date, a time or an amount for a reader.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton, format_time, get_day_names
from babel.numbers import format_currency
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

# Strings of Django's own that its Spanish and German catalogues leave untranslated (Django 6's label for
# a select's empty choice): Duly's catalogues, which take precedence, carry them.
DJANGO_UNTRANSLATED = (gettext_noop("- Select an option -"),)


def _spoken() -> set[str]:
    """The languages (without their country) Duly's pages are translated into."""
    return {code.split("-")[0] for code, _ in settings.LANGUAGES}


def language_tag(language: str | None, country: str | None = None) -> str:
    """The language to activate: ``language`` (one Duly speaks, else the default) refined by ``country``
    where CLDR knows that variant (``en`` + ``GB`` → ``en-gb``)."""
    spoken = _spoken()
    default = settings.LANGUAGE_CODE
    language = (language or "").split("-")[0].lower()
    if language not in spoken:
        language = default.split("-")[0]
    country = str(country or "").upper()
    if not country:
        return default if language == default.split("-")[0] else language
    try:
        Locale.parse(f"{language}_{country}")
    except (UnknownLocaleError, ValueError):
        return language
    return f"{language}-{country.lower()}"


@contextmanager
def localized(*, language: str | None, country: str | None = None, time_zone: str | None = None):
    """Render inside: the language (refined by the country) and the time zone (UTC when none)."""
    with translation.override(language_tag(language, country)), timezone.override(ZoneInfo(time_zone or "UTC")):
        yield


def for_tenant(tenant, *, language: str | None = None):
    """Staff pages, exports and printouts: the tenant's language (or ``language``), country and zone."""
    return localized(language=language or tenant.locale, country=tenant.country, time_zone=tenant.time_zone)


def for_customer(customer):
    """What a customer reads (pay pages, the portal, receipts, messages): the customer's language (the
    tenant's when Duly's pages do not speak it), the tenant's country and time zone."""
    tenant = customer.tenant
    language = customer.language if customer.language in _spoken() else tenant.locale
    return localized(language=language, country=tenant.country, time_zone=tenant.time_zone)


def babel_locale() -> str:
    return translation.to_locale(translation.get_language() or settings.LANGUAGE_CODE)


def day(value: date | datetime | None, style: str = "medium") -> str:
    """A date as the reader's locale writes it: ``1 Apr 2026`` (``style="long"``, for prose: ``1 April
    2026``); a datetime is first put in the active time zone, so it is that zone's day."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        value = value.date()
    return format_date(value, "long" if style == "long" else "medium", locale=babel_locale())


def weekday(value: date | None) -> str:
    """A date with its day of the week, where the weekday matters (a due date on a business day):
    ``Wed, 20 May 2026``."""
    if value is None or value == "":
        return ""
    return format_skeleton("yMMMEd", value, locale=babel_locale())


def weekday_names() -> list[str]:
    """The days of the week, Monday first, abbreviated as the reader's locale does (a calendar's heads)."""
    names = get_day_names("abbreviated", locale=babel_locale())
    return [names[index] for index in range(7)]


def month(value: date, *, short: bool = False) -> str:
    """A month and its year: ``May 2026``; ``short``: the month alone, abbreviated (``May``, ``Sept.``), for a
    chart's axis, whose table gives the year."""
    if short:
        return format_date(value, "LLL", locale=babel_locale())
    return format_skeleton("yMMMM", value, locale=babel_locale())


def moment(value: datetime | None, style: str = "medium") -> str:
    """A point in time in the active time zone, as the reader's locale writes it: ``1 Apr 2026 14:05``
    (``style="long"``, for prose: ``1 April 2026 14:05``)."""
    if value is None or value == "":
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{day(local, style)} {format_time(local, 'short', locale=babel_locale())}"


def money(amount: Decimal | None, currency: str) -> str:
    """An amount in ``currency`` as the reader's locale writes it (``£1,234.50``, ``1.234,50 €``)."""
    if amount is None or amount == "":
        return ""
    return format_currency(Decimal(amount), currency, locale=babel_locale())
