"""Language, time zone and formats (core.l10n): what a reader in each place sees, and staff pages in the
tenant's time zone."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django_scopes import scope

from core import l10n
from crm.models import Tenant
from finance.services.setup import set_up_ledger
from tests.conftest import logged_in
from tests.factories import AccountFactory, CustomerFactory, InvoiceFactory, TenantFactory, UserFactory

AT = datetime(2026, 5, 20, 3, 30, tzinfo=UTC)  # 20 May 04:30 in London, 19 May 22:30 in Panama
NNBSP = "\u202f"  # CLDR puts a narrow no-break space before "p. m." and "PM"


class TestLanguageTag:
    @pytest.mark.parametrize(("language", "country", "tag"), [
        ("en", "GB", "en-gb"),
        ("es", "PA", "es-pa"),
        ("de", "DE", "de-de"),
        ("en", "PA", "en"),  # CLDR has no English of Panama: plain English
        ("es", None, "es"),
        ("en", None, "en-gb"),  # Duly's default reader
        ("xx", "GB", "en-gb"),  # a language Duly does not speak: the default
        ("", "", "en-gb"),
    ])
    def test_refines_a_spoken_language_by_the_country(self, language, country, tag):
        assert l10n.language_tag(language, country) == tag


class TestFormats:
    @pytest.mark.parametrize(("language", "country", "zone", "expected"), [
        ("en", "GB", "Europe/London",
         ["20 May 2026", "20 May 2026", "Wed, 20 May 2026", "20 May 2026 04:30", "€1,234.50", "May 2026", "May"]),
        ("es", "PA", "America/Panama",
         ["05/20/2026", "20 de mayo de 2026", "mié, 20 may 2026", f"05/19/2026 10:30{NNBSP}p.{NNBSP}m.",
          "EUR1,234.50", "mayo de 2026", "may"]),
        ("de", "DE", "Europe/Berlin",
         ["20.05.2026", "20. Mai 2026", "Mi., 20. Mai 2026", "20.05.2026 05:30", "1.234,50\xa0€", "Mai 2026", "Mai"]),
    ])
    def test_dates_times_amounts_and_months_read_as_the_locale_writes_them(self, language, country, zone, expected):
        with l10n.localized(language=language, country=country, time_zone=zone):
            shown = [l10n.day(date(2026, 5, 20)), l10n.day(date(2026, 5, 20), "long"), l10n.weekday(date(2026, 5, 20)),
                     l10n.moment(AT), l10n.money(Decimal("1234.5"), "EUR"), l10n.month(date(2026, 5, 1)),
                     l10n.month(date(2026, 5, 1), short=True)]
        assert shown == expected

    def test_a_datetimes_day_is_the_day_in_the_active_zone(self):
        with l10n.localized(language="en", country="GB", time_zone="America/Panama"):
            assert l10n.day(AT) == "19 May 2026"
        with l10n.localized(language="en", country="GB", time_zone="Europe/London"):
            assert l10n.day(AT) == "20 May 2026"

    def test_nothing_is_shown_for_nothing(self):
        assert [l10n.day(None), l10n.weekday(None), l10n.moment(None), l10n.money(None, "GBP")] == ["", "", "", ""]

    def test_the_language_and_zone_are_given_back_afterwards(self):
        before = (translation.get_language(), timezone.get_current_timezone_name())
        with l10n.localized(language="de", country="DE", time_zone="Europe/Berlin"):
            assert (translation.get_language(), timezone.get_current_timezone_name()) == ("de-de", "Europe/Berlin")
        assert (translation.get_language(), timezone.get_current_timezone_name()) == before


@pytest.mark.django_db
class TestStaffPagesInTheTenantsZone:
    @pytest.fixture
    def panama(self, db):
        tenant = TenantFactory(name="Banco Istmo", slug="istmo", country="PA", time_zone="America/Panama",
                               default_currency="USD", locale="en")
        with scope(tenant=tenant):
            set_up_ledger(tenant=tenant)
        return tenant

    def test_a_posting_time_is_shown_in_panama_time(self, panama):
        account = AccountFactory(customer=CustomerFactory(tenant=panama, country="PA"), currency="USD")
        invoice = InvoiceFactory(account=account, price="100.00", at=AT)
        client = logged_in(UserFactory(tenant=panama, username="rosa"))

        page = client.get(reverse("finance:transaction_detail", args=[invoice.pk])).text

        # English of no country (CLDR has no English of Panama): US formats, Panama's clock (UTC-5).
        assert f"<dd>May 19, 2026 10:30{NNBSP}PM</dd>" in page
        assert "$100.00" in page
        assert "May 20, 2026 3:30" not in page and "04:30" not in page

    def test_an_export_gives_the_posting_time_in_panama_time_with_its_offset(self, panama):
        account = AccountFactory(customer=CustomerFactory(tenant=panama, country="PA"), currency="USD")
        InvoiceFactory(account=account, price="100.00", at=AT)
        client = logged_in(UserFactory(tenant=panama, username="rosa"))

        export = client.get(reverse("reports:report", args=["transactions"]) +
                            "?period=custom&start=2026-05-01&end=2026-05-31&format=csv")

        assert export.status_code == 200
        row = export.content.decode().splitlines()[1]
        assert row.startswith("2026-05-19T22:30-05:00,INV-000001,")

    def test_the_same_page_in_london_is_in_london_time(self, ledger, customer, staff_client):
        invoice = InvoiceFactory(account=AccountFactory(customer=customer, currency="GBP"), price="100.00", at=AT)

        page = staff_client.get(reverse("finance:transaction_detail", args=[invoice.pk])).text

        assert "<dd>20 May 2026 04:30</dd>" in page
        assert Tenant.objects.get(slug="acme").time_zone == "Europe/London"
