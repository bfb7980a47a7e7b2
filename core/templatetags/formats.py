"""``day``, ``weekday``, ``moment`` and ``money``: every template formats dates, times and amounts with these (they are
built in: no ``{% load %}``), in the language and time zone the page is rendered in (``core.l10n``)."""

from django import template

from core import l10n

register = template.Library()

register.filter("day", l10n.day)
register.filter("weekday", l10n.weekday)
register.filter("moment", l10n.moment)
register.filter("money", l10n.money)
