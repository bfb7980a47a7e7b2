"""Every staff page fits a 1280 px wide window: no horizontal scrolling, no table wider than its card, and no
form field squeezed narrower than 64 px or left without a label.

The pages are the URL walker's: every pattern it knows as a staff page (``staff`` or ``own``), filled with
the objects of a tenant holding demo-like data (long names, several rows in each panel of the customer file).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from crm.models import Customer
from finance import services as ledger
from finance.models import Classification, FeePayer, Lender, TransactionType
from obligations.services.obligations import ObligationData, Plan, create_obligation
from paylinks.services.requests import RequestData, request_payment
from tests.browser.accessibility import accessibility_problems
from tests.browser.test_staff_login import SCREENSHOTS
from tests.factories import PASSWORD
from tests.security.test_url_walker import ROUTES, walk
from tests.security.world import build_world

WIDTH = 1280
LONG_NAME = "Maximiliana Featherstonehaugh-Worthington-Smythe"
LONG_EMAIL = "maximiliana.featherstonehaugh-worthington@averylongcompanyname.example"

# For each page: how wide the document is, and every card (or panel) whose content is wider than the card.
MEASURE = """() => {
  const cards = [...document.querySelectorAll('.card, .panel, main')].filter(c => c.querySelector('table'));
  const over = [];
  for (const card of cards) {
    const name = card.id || card.className;
    if (card.scrollWidth > card.clientWidth) over.push(`${name}: ${card.scrollWidth} > ${card.clientWidth}`);
    const box = card.getBoundingClientRect();
    for (const table of card.querySelectorAll('table')) {
      const right = table.getBoundingClientRect().right;
      if (right > box.right + 0.5) over.push(`table in ${name} ends at ${right} > ${box.right}`);
      const holder = table.parentElement;
      if (holder.scrollWidth > holder.clientWidth + 1 && holder !== card)
        over.push(`table in ${name} scrolls inside ${holder.className}`);
    }
  }
  // Duly's own pages (Django's password change page is the admin's): fields wide enough, each labelled, by a
  // label, an aria-label or the header of its table column (the invoice lines).
  const controls = document.querySelector('.topbar') ? document.querySelectorAll(
    'main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), main select, main textarea') : [];
  for (const control of controls) {
    if (!control.checkVisibility()) continue;
    const width = control.getBoundingClientRect().width;
    const name = control.name || control.id;
    if (width < 64) over.push(`the field ${name} is ${Math.round(width)} px wide`);
    const cell = control.closest('td');
    const headed = cell && cell.closest('table').querySelector('thead th');
    if (!control.labels.length && !control.getAttribute('aria-label') && !control.getAttribute('aria-labelledby')
        && !headed) over.push(`the field ${name} has no label`);
  }
  return {width: document.documentElement.scrollWidth, over};
}"""


# Every panel a page loads by htmx has been swapped in (each replaces its placeholder, which carries the load
# trigger) and no request is under way: sooner than waiting for the network to be idle for half a second.
PANELS_LOADED = """() => document.readyState === 'complete'
  && !document.querySelector('[hx-trigger^="load"], .htmx-request, .htmx-settling, .htmx-swapping')"""


def demo_like(world):
    """The world's customer renamed long, with several invoices, payment requests, fees due from a lender and
    obligations."""
    tenant, staff, account = world.tenant, world.staff, world.account
    now = timezone.now()
    with scope(tenant=tenant):
        Customer.objects.filter(pk=account.customer_id).update(name=LONG_NAME, email=LONG_EMAIL)
        customer = Customer.objects.get(pk=account.customer_id)
        for number in range(3):
            draft = ledger.create_transaction(
                account=account,
                classification=Classification.INVOICE,
                actor=None,
                at=now,
                data=ledger.TransactionData(
                    lines=[
                        ledger.LineData(
                            f"Comprehensive motor insurance renewal, policy year {number + 1}",
                            Decimal(1),
                            Decimal("1234567.89"),
                        )
                    ]
                ),
            )
            invoice = ledger.post_transaction(txn=draft, actor=None, at=now).transaction
            request_payment(
                customer=customer, account=account, actor=staff, at=now, invoice=invoice,
                data=RequestData(
                    amount="987654.32",
                    reference=f"POLICY-RENEWAL-2026-{number:04}",
                    message="Second instalment of the annual premium for the comprehensive policy",
                    channels=["email"],
                ),
            )
        lender = Lender.objects.create(tenant=tenant, name="Northbank Mortgages and Commercial Lending Partners",
                                       email="introducers@northbank.example")
        procuration = TransactionType.objects.get(tenant=tenant, classification=Classification.INVOICE,
                                                  fee_payer=FeePayer.PROVIDER)
        for _ in range(2):
            draft = ledger.create_transaction(
                account=account,
                lender=lender,
                classification=Classification.INVOICE,
                actor=None,
                at=now,
                data=ledger.TransactionData(
                    type=procuration,
                    lines=[
                        ledger.LineData("Procuration fee for the buy-to-let mortgage", Decimal(1), Decimal("4200.00"))
                    ],
                ),
            )
            ledger.post_transaction(txn=draft, actor=None, at=now)
        for number in range(2):
            create_obligation(
                customer=customer,
                actor=staff,
                at=now,
                plan=Plan(kind="automatic", count=4, first_due_on=now.date() + timedelta(days=40 + number)),
                data=ObligationData(
                    payee="Driver and Vehicle Licensing Agency",
                    payee_kind="government",
                    payment_code=f"VEHICLE-EXCISE-DUTY-{number:06}",
                    description="Vehicle excise duty for the fleet of commercial vans",
                    total_amount="123456.78",
                    currency="GBP",
                    date_rule="next",
                    manager_comments="Agreed on the phone with the fleet manager",
                ),
            )


def staff_pages(world):
    names = {route.key: route for route in walk()}
    for key, kind in ROUTES.items():
        if kind.kind in ("staff", "own") and key in names:
            yield key, reverse(names[key].name, kwargs=kind.kwargs(world))


# The pages are walked in this many parts, each a test of its own (a part takes about 15 s; both test
# processes share them, instead of one waiting for a single long walk at the end of the run).
PARTS = 3


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
class TestStaffPagesFit:
    @pytest.mark.parametrize("part", range(PARTS))
    def test_every_staff_page_fits_1280_px_with_no_error_in_the_console(self, live_server, page, tenant, settings,
                                                                         part):
        """In German, whose words are the longest Duly speaks: what fits in German fits in English."""
        settings.DULY_DEV_TOOLS = True
        tenant.locale = "de"
        tenant.save(update_fields=["locale"])
        world = build_world(tenant)
        demo_like(world)
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(world.staff.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Heute")).to_be_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # The keyboard's first stop skips the navigation, and shows it has the focus.
        page.keyboard.press("Tab")
        expect(page.locator(".skip-link")).to_be_focused()
        expect(page.locator(".skip-link")).to_be_in_viewport()
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
        page.keyboard.press("Enter")
        expect(page.locator("main#main")).to_be_focused()

        problems, visited = [], []
        # A style or script the Content-Security-Policy refuses (or any other error) is a defect too.
        page.on("console", lambda message: problems.append(f"{page.url}: {message.text[:160]}")
                if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(f"{page.url}: {error.message[:160]}"))
        pages = [entry for index, entry in enumerate(staff_pages(world)) if index % PARTS == part]
        for key, path in pages:
            asked = page.request.get(live_server.url + path, max_redirects=0)
            if asked.status != 200 or "text/html" not in asked.headers["content-type"]:
                continue  # a POST-only action, a download or a redirect away: no page of its own to lay out
            page.goto(live_server.url + path)
            page.wait_for_function(PANELS_LOADED)
            visited.append(key)
            measured = page.evaluate(MEASURE)
            if measured["width"] > WIDTH:
                problems.append(f"{key} {path}: the page is {measured['width']} px wide")
            problems += [f"{key} {path}: {line}" for line in measured["over"]]
            if asked.text().lstrip().lower().startswith("<!doctype"):  # a page, not a panel htmx swaps into one
                problems += accessibility_problems(page, f"{key} {path}")
            page.screenshot(path=SCREENSHOTS / f"fit_{key.replace(':', '_')}.png", full_page=True)

        assert problems == [], "\n".join(problems)
        # The customer file and its panels, the lists and the settings pages were all laid out.
        assert {"crm:customer_detail", "paylinks:request_list", "finance:transaction_list",
                "obligations:obligation_detail", "reports:segment_detail"} & {key for key, _ in pages} <= set(visited)
        assert len(visited) > 40 // PARTS


# The pages staff use most, at a tablet's width: usable means the page never scrolls sideways (a wide table
# scrolls inside its own box) and nothing errs.
TABLET = 768
TABLET_PAGES = ("reports:home", "crm:customer_list", "crm:customer_detail", "finance:transaction_list",
                "finance:transaction_detail", "finance:transaction_create", "paylinks:request_list",
                "payments:payment_list", "obligations:obligation_calendar", "reports:dashboard")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
class TestStaffPagesOnATablet:
    def test_the_main_staff_pages_stay_usable_at_768_px(self, live_server, browser, tenant):
        """In Spanish: the tablet pages of a Panamanian tenant."""
        tenant.locale = "es"
        tenant.save(update_fields=["locale"])
        world = build_world(tenant)
        demo_like(world)
        context = browser.new_context(viewport={"width": TABLET, "height": 1024})
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(world.staff.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Hoy")).to_be_visible()
        problems, visited = [], []
        page.on("console", lambda message: problems.append(f"{page.url}: {message.text[:160]}")
                if message.type == "error" else None)
        for key, path in staff_pages(world):
            if key not in TABLET_PAGES:
                continue
            page.goto(live_server.url + path)
            page.wait_for_function(PANELS_LOADED)
            visited.append(key)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > TABLET:
                problems.append(f"{key} {path}: the page is {width} px wide")
            page.screenshot(path=SCREENSHOTS / f"tablet_{key.replace(':', '_')}_768.png", full_page=True)
        context.close()

        assert problems == [], "\n".join(problems)
        assert sorted(visited) == sorted(TABLET_PAGES)
