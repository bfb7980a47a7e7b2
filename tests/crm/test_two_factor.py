"""A second factor at sign-in (django-otp): an authenticator app's codes and single-use recovery codes;
required of everyone by a tenant that asks for it, and of platform support always."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_scopes import scopes_disabled

from crm.models import AuditEntry, User
from tests.factories import PASSWORD, SupportUserFactory


def code_of(device: TOTPDevice, drift: int = 0) -> str:
    """What the app shows now (``drift`` 1: in the next 30 s; a code used once is refused, so a test that
    gave this step's code at set-up gives the next step's, within the tolerance of one step)."""
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{code:0{device.digits}d}"


def sign_in(username: str) -> Client:
    client = Client()
    assert client.post(reverse("login"), {"username": username, "password": PASSWORD}).status_code == 302
    return client


def turn_on(client: Client, user) -> list[str]:
    page = client.get(reverse("crm:two_factor_setup"))
    # A QR code HTML draws: one path, scaled by its viewBox (no "svg:"-prefixed elements, which it ignores).
    assert page.status_code == 200 and re.search(r'<svg [^>]*viewBox="0 0 \d+ \d+"[^>]*><path d="M', page.text)
    assert "svg:" not in page.text
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    done = client.post(reverse("crm:two_factor_setup"), {"code": code_of(device)})
    assert done.status_code == 200
    return re.findall(r"<li><code>(\w+)</code></li>", done.text)


@pytest.mark.django_db
class TestTurningItOn:
    def test_scanning_and_typing_a_code_turns_it_on_and_shows_ten_recovery_codes(self, staff, tenant):
        client = sign_in(staff.username)

        codes = turn_on(client, staff)

        assert len(codes) == 10 and len(set(codes)) == 10
        assert User.objects.get(pk=staff.pk).two_factor
        assert client.get(reverse("reports:home")).status_code == 200  # this session gave its code
        with scopes_disabled():
            assert list(AuditEntry.objects.values_list("action", flat=True)) == ["two_factor.on"]

    def test_a_wrong_code_leaves_it_off(self, staff):
        client = sign_in(staff.username)
        client.get(reverse("crm:two_factor_setup"))

        response = client.post(reverse("crm:two_factor_setup"), {"code": "000000"})

        assert response.status_code == 422
        assert "That code is not the one the app shows now." in response.text
        assert not User.objects.get(pk=staff.pk).two_factor


@pytest.mark.django_db
class TestSigningIn:
    @pytest.fixture
    def with_app(self, staff):
        codes = turn_on(sign_in(staff.username), staff)
        return TOTPDevice.objects.get(user=staff, confirmed=True), codes

    def test_after_the_password_every_page_waits_for_the_code(self, staff, with_app):
        device, _ = with_app
        client = sign_in(staff.username)

        waiting = client.get(reverse("crm:customer_list"))
        wrong = client.post(reverse("two_factor_verify"), {"code": "123456", "next": "/customers/"})

        assert waiting.status_code == 302
        assert waiting.url == f"{reverse('two_factor_verify')}?next=%2Fcustomers%2F"
        assert wrong.status_code == 422 and "That code is not right." in wrong.text
        device.refresh_from_db()
        device.throttling_failure_count = 0  # the wrong code above slowed the next try down
        device.save()
        right = client.post(reverse("two_factor_verify"), {"code": code_of(device, drift=1), "next": "/customers/"})
        assert (right.status_code, right.url) == (302, "/customers/")
        assert client.get(reverse("crm:customer_list")).status_code == 200

    def test_a_recovery_code_works_once(self, staff, with_app):
        _, codes = with_app

        first = sign_in(staff.username).post(reverse("two_factor_verify"), {"code": codes[0]})
        again = sign_in(staff.username).post(reverse("two_factor_verify"), {"code": codes[0]})

        assert first.status_code == 302
        assert again.status_code == 422

    def test_a_code_cannot_be_sent_elsewhere_after_signing_in(self, staff, with_app):
        device, _ = with_app
        client = sign_in(staff.username)

        response = client.post(reverse("two_factor_verify"), {"code": code_of(device, drift=1),
                                                                   "next": "https://evil.example/"})

        assert (response.status_code, response.url) == (302, reverse("reports:home"))

    def test_turning_it_off(self, staff, with_app):
        device, _ = with_app
        client = sign_in(staff.username)
        client.post(reverse("two_factor_verify"), {"code": code_of(device, drift=1)})

        client.post(reverse("crm:two_factor_off"))

        assert not User.objects.get(pk=staff.pk).two_factor
        assert not TOTPDevice.objects.filter(user=staff).exists()
        assert sign_in(staff.username).get(reverse("crm:customer_list")).status_code == 200


@pytest.mark.django_db
class TestRequired:
    def test_a_tenant_that_requires_it_sends_its_staff_to_set_it_up_and_keeps_it_on(self, tenant, staff):
        tenant.require_two_factor = True
        tenant.save(update_fields=["require_two_factor"])
        client = sign_in(staff.username)

        assert client.get(reverse("crm:customer_list")).url == reverse("crm:two_factor_setup")
        turn_on(client, staff)
        client.post(reverse("crm:two_factor_off"))

        assert User.objects.get(pk=staff.pk).two_factor
        assert "Your organisation requires a second factor: it stays on." in client.get(
            reverse("crm:my_settings")).text

    def test_platform_support_always_needs_it(self, db):
        support = SupportUserFactory(username="sam-support")
        client = Client()
        client.post(reverse("admin:login"), {"username": support.username, "password": PASSWORD})

        assert client.get(reverse("admin:index")).url == reverse("crm:two_factor_setup")
