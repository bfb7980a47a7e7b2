"""Every URL pattern of the site, walked as another tenant's staff and as an anonymous visitor.

The walker reads the root resolver (recursively, every include), so a page added tomorrow is walked too.
Each pattern must be in ``ROUTES`` below, which says what kind of page it is and how to fill its
arguments with tenant A's real objects; a pattern that is in neither ``ROUTES`` nor the admin or API
families fails the test, so a new page cannot ship without saying how it keeps tenants apart.

What each kind must answer:

* ``staff``: a page about tenant A's objects. Anonymous → 302 to the login page; tenant B's staff (with
  every role, so that only the tenant check can stop them) → 404; tenant A's own staff → not 404 (the
  control that proves the arguments really name A's objects).
* ``own``: a staff page that names no object (a list, a form for a new one). Anonymous → 302 to login;
  tenant B's staff → their own page, without a word of tenant A's data.
* ``token``: a public page reached by a capability token. A forged token → 404 for everyone; A's real
  token → the page, without login.
* ``public`` / ``provider``: documented answers (the login page, the sandbox's API with its own keys,
  the webhook inbox).
* admin: anonymous and tenant staff are sent to the admin's login page.
* API: no key → 401; tenant B's key → for A's object exactly what a missing id gets (404, or 422 when
  the body is checked first), never a 2xx.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django_scopes import scope

from core import throttle
from crm import services as crm_services
from finance.services.setup import set_up_ledger
from gateways import services as gateway_services
from tests.conftest import logged_in
from tests.factories import UserFactory
from tests.security.world import EVERY_ROLE, MARKER, World, build_world

FORGED = "forged-token-0000000000000000000000000000000000000"
MISSING_ID = 987654321
OTHER_SANDBOX_SECRET = "sbx_secret_other_2"


@dataclass(frozen=True)
class Route:
    key: str  # "namespace:name", or "route:<pattern>" for an unnamed one
    name: str | None
    pattern: str
    default_kwargs: dict


@dataclass(frozen=True)
class Kind:
    kind: str  # staff | own | token | public | provider
    kwargs: Callable[[World], dict] = field(default=lambda w: {})
    expect_anonymous: tuple[int, ...] = ()  # public and provider kinds: the statuses allowed


def staff(kwargs):
    return Kind("staff", kwargs)


def own(kwargs=lambda w: {}):
    return Kind("own", kwargs)


def token(kwargs):
    return Kind("token", kwargs)


def public(*statuses, kwargs=lambda w: {}):
    return Kind("public", kwargs, statuses)


def provider(kwargs=lambda w: {}):
    return Kind("provider", kwargs)


def portal(kwargs=lambda w: {}):
    """A page of the customer portal: only a customer's portal session opens it (403 for anyone else,
    staff included); which customer's instalments it shows is tested in tests/payments/test_portal.py."""
    return Kind("portal", kwargs)


ROUTES: dict[str, Kind] = {
    # crm
    "home": public(302),
    "favicon": public(301),  # a redirect to the static icon  # a redirect to the customer list, which wants a login
    "health_live": public(200),
    "health_ready": public(200, 503),  # 503 without a worker's heartbeat (tests/config/test_health.py)
    "metrics": public(200),  # open without DULY_METRICS_TOKEN outside production (tests/config/test_metrics.py)
    "crm:customer_list": own(),
    # receivables: dunning, holds and statements
    "reports:segment_statements": staff(lambda w: {"segment_id": w.segment.pk}),
    "receivables:dunning_settings": own(),
    "receivables:level_create": own(),
    "receivables:levels_suggested": own(),
    "receivables:level_edit": staff(lambda w: {"level_id": w.dunning_level.pk}),
    "receivables:level_delete": staff(lambda w: {"level_id": w.dunning_level.pk}),
    "receivables:invoice_panel": staff(lambda w: {"invoice_id": w.fee.pk}),
    "receivables:invoice_hold": staff(lambda w: {"invoice_id": w.fee.pk}),
    "receivables:invoice_release": staff(lambda w: {"invoice_id": w.fee.pk}),
    "receivables:notice_waive": staff(lambda w: {"notice_id": w.dunning_notice.pk}),
    "receivables:account_statement": staff(lambda w: {"account_id": w.account.pk}),
    "receivables:account_statement_send": staff(lambda w: {"account_id": w.account.pk}),
    "statement_public": token(lambda w: {"token": w.statement_token}),
    "portal:invoice_pay": portal(lambda w: {"invoice_id": w.fee.pk}),
    "portal:invoice_receipt": portal(lambda w: {"invoice_id": w.fee.pk}),
    "portal:statement": portal(lambda w: {"account_id": w.account.pk}),
    "portal:card_remove": portal(lambda w: {"card_id": w.saved_card.pk}),
    # billing: recurring invoices and cards on file
    "billing:schedule_list": own(),
    "billing:settings": own(),
    "billing:account_panel": staff(lambda w: {"account_id": w.account.pk}),
    "billing:schedule_create": staff(lambda w: {"account_id": w.account.pk}),
    "billing:schedule_detail": staff(lambda w: {"schedule_id": w.schedule.pk}),
    "billing:schedule_lines": staff(lambda w: {"schedule_id": w.schedule.pk}),
    "billing:schedule_pause": staff(lambda w: {"schedule_id": w.schedule.pk}),
    "billing:schedule_resume": staff(lambda w: {"schedule_id": w.schedule.pk}),
    "billing:run_post": staff(lambda w: {"run_id": w.run.pk}),
    "billing:schedule_end": staff(lambda w: {"schedule_id": w.schedule.pk}),
    "payments:cards_panel": staff(lambda w: {"customer_id": w.account.customer_id}),
    "payments:card_remove": staff(lambda w: {"card_id": w.saved_card.pk}),
    # banking
    "banking:home": own(),
    "banking:bank_account_create": own(),
    "banking:bank_account_lines": staff(lambda w: {"bank_account_id": w.bank_account.pk}),
    "banking:bank_account_update": staff(lambda w: {"bank_account_id": w.bank_account.pk}),
    "banking:statement_import": own(),
    "banking:import_detail": staff(lambda w: {"import_id": w.statement_import.pk}),
    "banking:reconciliation": own(),
    "banking:line_detail": staff(lambda w: {"line_id": w.statement_line.pk}),
    "banking:line_confirm": staff(lambda w: {"line_id": w.statement_line.pk}),
    "banking:line_move": staff(lambda w: {"line_id": w.statement_line.pk}),
    "banking:line_split": staff(lambda w: {"line_id": w.statement_line.pk}),
    "banking:refund_runs": own(),
    "banking:refund_propose": own(),
    "banking:refund_run_detail": staff(lambda w: {"run_id": w.refund_run.pk}),
    "banking:refund_run_approve": staff(lambda w: {"run_id": w.refund_run.pk}),
    "banking:refund_file": staff(lambda w: {"run_id": w.refund_run.pk}),
    "crm:customer_create": own(),
    "crm:customer_detail": staff(lambda w: {"customer_id": w.account.customer_id}),
    "crm:customer_update": staff(lambda w: {"customer_id": w.account.customer_id}),
    "crm:my_settings": own(),
    "crm:two_factor_setup": own(),
    "crm:two_factor_off": own(),
    "two_factor_verify": public(302),  # the second step of signing in: anonymous visitors start at the first
    "crm:settings_index": own(),
    "crm:staff_list": own(),
    "crm:staff_invite": own(),
    "crm:staff_detail": staff(lambda w: {"user_id": w.invited.pk}),
    "crm:staff_roles": staff(lambda w: {"user_id": w.invited.pk}),
    "crm:staff_deactivate": staff(lambda w: {"user_id": w.staff.pk}),  # refused for oneself: the link stays
    "crm:staff_reactivate": staff(lambda w: {"user_id": w.staff.pk}),
    "crm:staff_resend": staff(lambda w: {"user_id": w.invited.pk}),
    "crm:audit_log": own(),
    "crm:organisation": own(),
    "crm:api_key_list": own(),
    "crm:api_key_create": own(),
    "crm:api_key_revoke": staff(lambda w: {"key_id": w.api_key.pk}),
    "crm:invitation": token(lambda w: w.invitation),
    # finance
    "finance:transaction_list": own(),
    "finance:transaction_create": own(lambda w: {"classification": "invoice"}),
    "finance:transaction_detail": staff(lambda w: {"transaction_id": w.fee.pk}),
    "finance:transaction_update": staff(lambda w: {"transaction_id": w.fee.pk}),
    "finance:transaction_action": staff(lambda w: {"transaction_id": w.fee.pk, "action": "notes"}),
    "finance:account_list": own(),
    "finance:account_detail": staff(lambda w: {"account_id": w.account.pk}),
    "finance:account_state": staff(lambda w: {"account_id": w.account.pk}),
    "finance:account_refund": staff(lambda w: {"account_id": w.account.pk}),
    "finance:customer_panel": staff(lambda w: {"customer_id": w.account.customer_id}),
    "finance:account_open": staff(lambda w: {"customer_id": w.account.customer_id}),
    "finance:settings_index": own(),
    "finance:ledger_settings": own(),
    "finance:setting_list": own(lambda w: {"entity": "tax-rates"}),
    "finance:setting_create": own(lambda w: {"entity": "tax-rates"}),
    "finance:setting_update": staff(lambda w: {"entity": "tax-rates", "pk": w.tax_rate.pk}),
    "finance:transaction_printout": staff(lambda w: {"transaction_id": w.fee.pk}),
    "finance:transaction_printout_send": staff(lambda w: {"transaction_id": w.fee.pk}),
    "finance:transaction_export": own(lambda w: {"fmt": "csv"}),
    "finance:printout_public": token(lambda w: {"token": w.printout_token}),
    # payments, staff side
    "payments:fees_panel": staff(lambda w: {"customer_id": w.account.customer_id}),
    "payments:take_payment": staff(lambda w: {"invoice_id": w.fee.pk}),
    "payments:payment_status": staff(lambda w: {"payment_id": w.payment.pk}),
    "paylinks:request_list": own(),
    "paylinks:request_cancel": staff(lambda w: {"request_id": w.payment_request.pk}),
    "paylinks:request_resend": staff(lambda w: {"request_id": w.payment_request.pk}),
    "paylinks:request_consolidate": staff(lambda w: {"request_id": w.payment_request.pk}),
    "paylinks:customer_panel": staff(lambda w: {"customer_id": w.account.customer_id}),
    "paylinks:invoice_pay_panel": staff(lambda w: {"invoice_id": w.fee.pk}),
    "paylinks:invoice_pay_send": staff(lambda w: {"invoice_id": w.fee.pk}),
    "paylinks:request_create": staff(lambda w: {"customer_id": w.account.customer_id}),
    "payments:payment_list": own(),
    "payments:gateway_list": own(),
    "payments:gateway_connect": own(),
    "payments:gateway_edit": staff(lambda w: {"account_id": w.gateway.pk}),
    "payments:gateway_check": staff(lambda w: {"account_id": w.gateway.pk}),
    "payments:payment_detail": staff(lambda w: {"payment_id": w.payment.pk}),
    "payments:payment_confirm": staff(lambda w: {"payment_id": w.payment.pk}),
    "payments:refund_create": staff(lambda w: {"payment_id": w.payment.pk}),
    "payments:refund_retry": staff(lambda w: {"payment_id": w.payment.pk, "refund_id": w.refund.pk}),
    "payments:receipt_detail": staff(lambda w: {"receipt_id": w.receipt.pk}),
    "payments:receipt_new_link": staff(lambda w: {"receipt_id": w.receipt.pk}),
    "payments:webhook_list": own(),
    "payments:webhook_replay": staff(lambda w: {"delivery_id": w.delivery.pk}),
    "paylinks:invoice_request_panel": staff(lambda w: {"invoice_id": w.fee.pk}),
    "paylinks:invoice_request_create": staff(lambda w: {"invoice_id": w.fee.pk}),
    # obligations and instalments, staff side
    "obligations:obligations_panel": staff(lambda w: {"customer_id": w.account.customer_id}),
    "obligations:obligation_create": staff(lambda w: {"customer_id": w.account.customer_id}),
    "obligations:obligation_list": own(),
    "obligations:obligation_calendar": own(),
    "obligations:obligation_settings": own(),
    "obligations:obligation_detail": staff(lambda w: {"obligation_id": w.obligation.pk}),
    "obligations:obligation_edit": staff(lambda w: {"obligation_id": w.obligation.pk}),
    "obligations:instalment_edit": staff(lambda w: {"instalment_id": w.instalment.pk}),
    "obligations:instalment_mark_paid": staff(lambda w: {"instalment_id": w.instalment.pk}),
    # the customer portal: a sign-in page per tenant, a single-use link, then a session of one customer
    "portal:sign_in": public(200, kwargs=lambda w: {"slug": w.tenant.slug}),
    "portal:enter": token(lambda w: {"token": w.portal_token}),
    "portal:sign_out": public(200, 405),  # "You are signed out", by POST only
    "portal:home": portal(),
    "portal:pay": portal(lambda w: {"instalment_id": w.instalment.pk}),
    "portal:done": portal(lambda w: {"instalment_id": w.instalment.pk}),
    "portal:receipt": portal(lambda w: {"instalment_id": w.instalment.pk}),
    # reports
    "reports:index": own(),
    "reports:dashboard": own(),
    "reports:home": own(),
    "reports:report": own(lambda w: {"slug": "transactions"}),
    "reports:segment_list": own(),
    "reports:segment_detail": staff(lambda w: {"segment_id": w.segment.pk}),
    "reports:segment_delete": staff(lambda w: {"segment_id": w.segment.pk}),
    # payments, the payer's side
    "pay:page": token(lambda w: {"token": w.request_token}),
    "pay:done": token(lambda w: {"token": w.request_token}),
    "pay:receipt": token(lambda w: {"token": w.request_token}),
    "pay:receipt_pdf": token(lambda w: {"token": w.request_token}),
    "pay:invoice": token(lambda w: {"token": w.invoice_link_token}),
    "pay:invoice_done": token(lambda w: {"token": w.invoice_link_token}),
    "receipt_public": token(lambda w: {"token": w.receipt_token}),
    "receipt_public_pdf": token(lambda w: {"token": w.receipt_token}),
    # notifications
    "notifications:inbox": own(),
    "notifications:bell": own(),
    "notifications:mark_all_read": own(),
    "notifications:mark_read": staff(lambda w: {"notification_id": w.notification.pk}),
    "notifications:outbox": own(),
    "notifications:outbox_retry": staff(lambda w: {"notification_id": w.notification.pk}),
    "notifications:template_list": own(),
    "notifications:template_edit": own(lambda w: {"key": "payment_request", "language": "en"}),
    "notifications:settings": own(),
    "notifications:customer_communicate": staff(lambda w: {"customer_id": w.account.customer_id}),
    "notifications:dev_mailbox": own(),
    "notifications:dev_mail_detail": staff(lambda w: {"mail_id": w.mail.pk}),
    # gateways: the webhook inbox and the offline Sandbox provider, which Duly serves itself
    "gateways:webhook": provider(lambda w: {"provider": "sandbox", "token": w.gateway.webhook_token}),
    "sandbox:api_account": provider(),
    "sandbox:api_checkouts": provider(),
    "sandbox:api_checkout": provider(lambda w: {"checkout_id": w.checkout.id}),
    "sandbox:api_refunds": provider(lambda w: {"checkout_id": w.checkout.id}),
    "sandbox:api_settle": provider(lambda w: {"checkout_id": w.checkout.id}),
    "sandbox:api_card": provider(lambda w: {"card_id": w.sandbox_card.id}),
    "sandbox:api_card_charges": provider(lambda w: {"card_id": w.sandbox_card.id}),
    "sandbox:pay": token(lambda w: {"checkout_id": w.checkout.id}),
    "sandbox:settle": token(lambda w: {"checkout_id": w.checkout.id}),
    "sandbox:cancel": token(lambda w: {"checkout_id": w.checkout.id}),
    "sandbox:fields": token(lambda w: {"client_token": w.fields_checkout.client_token}),
    "sandbox:fields_confirm": token(lambda w: {"client_token": w.fields_checkout.client_token}),
    # Django's own pages: signing in and out, and resetting a password by email
    "login": public(200),
    "logout": public(302, 405),
    "password_change": own(),
    "password_change_done": own(),
    "password_reset": public(200),
    "password_reset_done": public(200),
    "password_reset_confirm": public(200, kwargs=lambda w: {"uidb64": "MQ", "token": "set-password"}),
    "password_reset_complete": public(200),
}
# The admin's own pages that answer without a login (everything else under admin/ wants support staff).
ADMIN_PUBLIC = {"admin:login": (200,), "admin:logout": (302, 405)}
# The API's schema and docs are public; every operation wants a key.
API_PUBLIC = {"api-v1:openapi-json": (200,), "api-v1:openapi-view": (200,), "api-v1:api-root": (404,)}
ADMIN_KWARGS = {"object_id": "1", "app_label": "crm", "content_type_id": "1", "url": "nowhere/", "id": "1", "pk": "1"}


def walk(resolvers=None, prefix: str = "", namespace: str = "") -> list[Route]:
    routes = []
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace) if part)
            routes += walk(entry.url_patterns, pattern, inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            routes.append(Route(key=name or f"route:{pattern}", name=name, pattern=pattern,
                                default_kwargs=entry.default_args))
    return routes


def argument_names(pattern: str) -> list[str]:
    """``customers/<int:customer_id>/`` → ``["customer_id"]``; regular expressions' ``(?P<name>…)`` too."""
    return re.findall(r"<(?:\w+:)?(\w+)>", pattern)


def admin_url(route: Route, kwargs: dict) -> str:
    try:
        return reverse(route.name, kwargs=kwargs)
    except NoReverseMatch:  # a pattern of unnamed groups (django-simple-history's)
        groups = re.compile(route.pattern.removeprefix("admin/")).groups
        return reverse(route.name, args=["1"] * groups)


def family(route: Route) -> str:
    if route.key.startswith("admin:") or route.pattern.startswith("admin/"):
        return "admin"
    if route.key.startswith("api-v1:") or route.pattern.startswith("api/v1/"):
        return "api"
    return "site"


def ask(client: Client, url: str, *, methods=("get", "post")):
    """The first answer that is not 405 (a POST-only page is asked by POST), or the last 405."""
    response = None
    for method in methods:
        response = getattr(client, method)(url)
        if response.status_code != 405:
            return method, response
    return methods[-1], response


def is_login_redirect(response, login: str = "/accounts/login/") -> bool:
    return response.status_code == 302 and response["Location"].startswith(login + "?next=")


@pytest.fixture
def world(tenant, settings):
    settings.DULY_DEV_TOOLS = True  # walk the development mailbox too, as in development
    throttle.reset(key="pay:127.0.0.1")
    yield build_world(tenant)
    throttle.reset(key="pay:127.0.0.1")


@pytest.fixture
def intruder(other_tenant):
    """Tenant B's staff with every role, and B's ledger, API key and sandbox secret."""
    user = UserFactory(tenant=other_tenant, username="intruder", role_keys=EVERY_ROLE)
    _, key = crm_services.create_api_key(tenant=other_tenant, name="intruder")
    with scope(tenant=other_tenant):
        set_up_ledger(tenant=other_tenant)
        gateway_services.save_gateway_account(tenant=other_tenant, provider="sandbox", live=False,
                                              secret=OTHER_SANDBOX_SECRET)
    return logged_in(user), Client(headers={"Authorization": f"Bearer {key}"})


@pytest.mark.django_db
class TestEveryUrlPattern:
    def test_every_pattern_is_registered(self):
        unknown = sorted({route.key for route in walk() if family(route) == "site" and route.key not in ROUTES})

        assert unknown == [], (
            "URL patterns that the walker does not know. Register each in tests/security/test_url_walker.py "
            f"ROUTES with how to build tenant A's object for its arguments: {unknown}"
        )

    def test_site_pages_keep_tenants_apart(self, world, intruder):
        other_staff, _ = intruder
        anonymous, owner = Client(), logged_in(world.staff)
        problems, walked = [], 0
        # Public token pages first: the owner's controls below post to staff pages that replace tokens.
        for route in sorted(walk(), key=lambda r: ROUTES[r.key].kind != "token" if r.key in ROUTES else True):
            if family(route) != "site" or route.key not in ROUTES:
                continue
            kind = ROUTES[route.key]
            kwargs = kind.kwargs(world)
            url = reverse(route.name, kwargs=kwargs) if route.name else "/" + route.pattern
            walked += 1
            problems += check_site(route, kind, url, kwargs, anonymous=anonymous, other=other_staff, owner=owner)

        assert problems == [], "\n".join(problems)
        assert walked == len([key for key in ROUTES if key in {r.key for r in walk()}])

    def test_admin_pages_want_support_staff(self, world, intruder):
        other_staff, _ = intruder
        problems, walked = [], 0
        for route in walk():
            if family(route) != "admin" or route.name is None:
                continue
            kwargs = {name: ADMIN_KWARGS[name] for name in argument_names(route.pattern)}
            url = admin_url(route, kwargs)
            walked += 1
            for who, client in (("anonymous", Client()), ("tenant staff", other_staff)):
                method, response = ask(client, url)
                if route.name in ADMIN_PUBLIC:
                    ok = response.status_code in ADMIN_PUBLIC[route.name]
                else:
                    ok = is_login_redirect(response, "/admin/login/")
                if not ok:
                    problems.append(f"{who} {method.upper()} {url} ({route.key}) → {response.status_code}")

        assert problems == [], "\n".join(problems)
        assert walked > 20  # the models registered with the admin, each with its list, add, change, delete…

    def test_api_operations_want_a_key_and_keep_tenants_apart(self, world, intruder):
        other_staff, other_key = intruder
        objects = {"customer_id": world.account.customer_id, "account_id": world.account.pk,
                   "transaction_id": world.fee.pk, "request_id": world.payment_request.pk,
                   "obligation_id": world.obligation.pk, "instalment_id": world.instalment.pk,
                   "payment_id": world.payment.pk, "refund_id": world.refund.pk,
                   "import_id": world.statement_import.pk, "invoice_id": world.fee.pk,
                   "schedule_id": world.schedule.pk, "card_id": world.saved_card.pk}
        problems, walked = [], 0
        for route in walk():
            if family(route) != "api" or route.name is None:
                continue
            names = argument_names(route.pattern)
            unknown = [name for name in names if name not in objects]
            if unknown:
                problems.append(f"{route.key}: register how to build {unknown} for the API walk")
                continue
            url = reverse(route.name, kwargs={name: objects[name] for name in names})
            missing = reverse(route.name, kwargs=dict.fromkeys(names, MISSING_ID))
            walked += 1
            for method in ("get", "post", "patch", "put", "delete"):
                anonymous = getattr(Client(), method)(url)
                session = getattr(other_staff, method)(url)
                if route.name in API_PUBLIC:
                    if method == "get" and anonymous.status_code not in API_PUBLIC[route.name]:
                        problems.append(f"anonymous GET {url} → {anonymous.status_code}")
                    continue
                for who, response in (("no key", anonymous), ("B's staff session, no key", session)):
                    if response.status_code not in (401, 405):
                        problems.append(f"{who} {method.upper()} {url} → {response.status_code}")
                if not names:
                    continue
                body = {} if method == "get" else {"data": "{}", "content_type": "application/json"}
                theirs = getattr(other_key, method)(url, **body)
                nothing = getattr(other_key, method)(missing, **body)
                if theirs.status_code != nothing.status_code or theirs.status_code not in (404, 405, 422):
                    problems.append(f"B's key {method.upper()} {url} → {theirs.status_code} "
                                    f"(a missing id: {nothing.status_code})")

        assert problems == [], "\n".join(problems)
        assert walked >= 10


def check_site(route: Route, kind: Kind, url: str, kwargs: dict, *, anonymous, other, owner) -> list[str]:
    problems = []

    def say(who, method, response, wanted):
        problems.append(f"{who} {method.upper()} {url} ({route.key}) → {response.status_code}, wanted {wanted}")

    if kind.kind in ("staff", "own"):
        method, response = ask(anonymous, url)
        if not is_login_redirect(response):
            say("anonymous", method, response, "302 to the login page")
        method, response = ask(other, url)
        if kind.kind == "staff" and response.status_code != 404:
            say("B's staff", method, response, 404)
        if kind.kind == "own":
            if response.status_code >= 500 or response.status_code == 404:
                say("B's staff", method, response, "their own page")
            elif MARKER in response.content.decode(errors="replace"):
                say("B's staff", method, response, f"a page without {MARKER!r} (tenant A's customer)")
        if kind.kind == "staff":
            method, response = ask(owner, url)
            if response.status_code in (404, 405) or response.status_code >= 500:
                say("A's own staff", method, response, "the page (the control)")
    elif kind.kind == "token":
        for name in kwargs:
            forged_url = reverse(route.name, kwargs=kwargs | {name: FORGED})
            for who, client in (("anonymous", anonymous), ("B's staff", other)):
                method, response = ask(client, forged_url)
                if response.status_code != 404:
                    problems.append(f"{who} {method.upper()} {forged_url} ({route.key}) → "
                                    f"{response.status_code}, wanted 404 for a forged token")
        method, response = ask(Client(), url)
        if response.status_code in (404, 405) or response.status_code >= 500 or is_login_redirect(response):
            say("anonymous with the real token", method, response, "the public page")
    elif kind.kind == "portal":
        for who, client in (("anonymous", anonymous), ("B's staff", other), ("A's staff", owner)):
            method, response = ask(client, url)
            if response.status_code != 403:
                say(who, method, response, "403 without a portal session")
    elif kind.kind == "public":
        method, response = ask(anonymous, url)
        if response.status_code not in kind.expect_anonymous:
            say("anonymous", method, response, kind.expect_anonymous)
    elif kind.kind == "provider":
        problems += check_provider(route, url, kwargs, anonymous=anonymous, other=other)
    return problems


def check_provider(route: Route, url: str, kwargs: dict, *, anonymous, other) -> list[str]:
    """The sandbox's API answers its own keys (401 without one; another tenant's key finds none of A's
    checkouts); the webhook inbox refuses an unsigned body (400) and an unknown account (404)."""
    problems = []
    if route.key == "gateways:webhook":
        unsigned = anonymous.post(url, data=b"{}", content_type="application/json")
        unknown = anonymous.post(reverse(route.name, kwargs=kwargs | {"token": "00000000-0000-4000-8000-000000000000"}),
                                 data=b"{}", content_type="application/json")
        if (unsigned.status_code, unknown.status_code) != (400, 404):
            problems.append(f"{route.key}: unsigned → {unsigned.status_code}, unknown → {unknown.status_code}")
        return problems
    for who, client in (("anonymous", anonymous), ("B's staff session", other)):
        method, response = ask(client, url)
        if response.status_code != 401:
            problems.append(f"{who} {method.upper()} {url} ({route.key}) → {response.status_code}, wanted 401")
    if "checkout_id" in kwargs:
        # Another merchant's key gets for A's checkout exactly what a checkout that does not exist gets.
        other_key = Client(headers={"Authorization": f"Bearer {OTHER_SANDBOX_SECRET}"})
        method, theirs = ask(other_key, url)
        _, nothing = ask(other_key, reverse(route.name, kwargs=kwargs | {"checkout_id": "sbx_missing"}))
        if theirs.status_code != nothing.status_code or theirs.status_code not in (400, 404):
            problems.append(f"B's sandbox key {method.upper()} {url} ({route.key}) → {theirs.status_code} "
                            f"(a missing checkout: {nothing.status_code})")
    if "card_id" in kwargs:
        # Another merchant's key can neither charge nor remove A's saved card: the same as a missing one.
        other_key = Client(headers={"Authorization": f"Bearer {OTHER_SANDBOX_SECRET}"})
        method, theirs = ask(other_key, url, methods=("post", "delete"))
        missing = reverse(route.name, kwargs={"card_id": "sbxpm_missing00"})
        _, nothing = ask(other_key, missing, methods=("post", "delete"))
        if theirs.status_code != nothing.status_code or theirs.status_code not in (400, 404):
            problems.append(f"B's sandbox key {method.upper()} {url} ({route.key}) → {theirs.status_code} "
                            f"(a missing card: {nothing.status_code})")
    return problems
