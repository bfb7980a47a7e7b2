"""Every page a payer sees works on a phone 375 px wide: nothing scrolls sideways, every control is a tap
target at least 44 px high, the amount and the Pay button show without scrolling, and the browser reports
no error (a style or script the Content-Security-Policy refuses is one), and axe-core finds no serious or
critical accessibility violation. Each page's screenshot is kept
under var/screenshots/ (payer_*_375.png)."""

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.accessibility import accessibility_problems
from tests.browser.test_staff_login import SCREENSHOTS
from tests.security.world import build_world

PHONE = {"width": 375, "height": 667}  # the smallest phone in common use; 812 on most

# The page's width, the controls under 44 px high, and where the amount and the Pay button end.
MEASURE = """([amountSelector, paySelector]) => {
  const small = [];
  for (const control of document.querySelectorAll(
      'button, input:not([type=hidden]), select, textarea, a.button, nav a, .toolbar a')) {
    if (!control.checkVisibility()) continue;
    const box = control.getBoundingClientRect();
    if (box.height < 44) small.push(`${control.tagName.toLowerCase()} "${(control.textContent || control.name
      || control.type).trim().slice(0, 40)}" is ${Math.round(box.height)} px high`);
  }
  const bottom = selector => {
    const element = selector && document.querySelector(selector);
    return element ? element.getBoundingClientRect().bottom : null;
  };
  return {width: document.documentElement.scrollWidth, small,
          amount: bottom(amountSelector), pay: bottom(paySelector)};
}"""


def payer_pages(world, live_server):
    """(name, url, the amount's selector, the Pay button's selector) for each page a payer sees."""
    pay = f"{live_server.url}{reverse('pay:page', args=[world.request_token])}"
    yield "pay_request", pay, ".pay .amount", ".pay button.primary"
    yield ("email_pay_invoice", f"{live_server.url}{reverse('pay:invoice', args=[world.invoice_link_token])}",
           "#invoice-outstanding", "#invoice-pay button.primary")
    yield "portal_sign_in", f"{live_server.url}{reverse('portal:sign_in', args=[world.tenant.slug])}", None, None
    yield "portal_home", f"{live_server.url}{reverse('portal:enter', args=[world.portal_token])}", None, None
    yield "receipt", f"{live_server.url}{reverse('receipt_public', args=[world.receipt_token])}", ".amount-paid", None
    yield ("sandbox_pay", f"{live_server.url}{reverse('sandbox:pay', args=[world.checkout.id])}", "h1",
           "button.primary")
    yield ("sandbox_fields", f"{live_server.url}{reverse('sandbox:fields', args=[world.fields_checkout.client_token])}",
           None, "button.primary")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
class TestPayerPagesOnAPhone:
    def test_every_payer_page_fits_375_px_with_big_tap_targets_and_no_error(self, live_server, browser, tenant):
        world = build_world(tenant)
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
        page = context.new_page()
        page.set_default_timeout(10_000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        problems, seen = [], []
        page.on("console", lambda message: problems.append(f"{page.url}: {message.text[:160]}")
                if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(f"{page.url}: {error.message[:160]}"))

        for name, url, amount, pay in payer_pages(world, live_server):
            page.goto(url)
            page.wait_for_load_state("networkidle")
            expect(page.locator("main")).to_be_visible()
            measured = page.evaluate(MEASURE, [amount, pay])
            seen.append(name)
            if measured["width"] > PHONE["width"]:
                problems.append(f"{name}: the page is {measured['width']} px wide")
            problems += [f"{name}: {line}" for line in measured["small"]]
            for what, selector, bottom in (("amount", amount, measured["amount"]), ("Pay button", pay,
                                                                                  measured["pay"])):
                if selector and bottom is None:
                    problems.append(f"{name}: no {what} ({selector})")
                elif selector and bottom > PHONE["height"]:
                    problems.append(f"{name}: the {what} ends at {bottom:.0f} px, below the first screen")
            problems += accessibility_problems(page, name)
            page.screenshot(path=SCREENSHOTS / f"payer_{name}_375.png", full_page=True)
        context.close()

        assert problems == [], "\n".join(problems)
        assert seen == ["pay_request", "email_pay_invoice", "portal_sign_in", "portal_home", "receipt",
                        "sandbox_pay", "sandbox_fields"]
        assert timezone.now()
