"""Guessing passwords: django-axes refuses an account, or an address, after ten failed sign-ins, with the
reason and the way out; a password reset clears the account's count."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

LIMIT = 10


def sign_in(client: Client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.django_db
class TestFailedSignIns:
    def test_an_account_is_refused_after_the_limit_even_with_its_password(self, client, staff):
        answers = [sign_in(client, staff.username, "wrong").status_code for _ in range(LIMIT)]
        refused = sign_in(client, staff.username, PASSWORD)

        # The form again, saying the password is wrong; the tenth failure is refused with the lockout.
        assert answers == [200] * (LIMIT - 1) + [429]
        assert refused.status_code == 429
        assert refused["Retry-After"] == "900"
        assert "Too many failed sign-ins" in refused.text
        assert "Try again in 15 minutes, or reset the password now." in refused.text
        assert f'href="{reverse("password_reset")}"' in refused.text
        assert "_auth_user_id" not in client.session

    def test_the_account_is_refused_from_every_address(self, client, staff):
        for number in range(LIMIT):
            sign_in(client, staff.username, "wrong", address=f"203.0.113.{number}")

        assert sign_in(Client(), staff.username, PASSWORD, address="198.51.100.1").status_code == 429

    def test_an_address_is_refused_after_the_limit_whatever_account_it_tries(self, client, tenant):
        users = [UserFactory(tenant=tenant, username=f"user{number}") for number in range(LIMIT + 1)]
        for user in users[:LIMIT]:
            sign_in(client, user.username, "wrong")

        assert sign_in(Client(), users[LIMIT].username, PASSWORD).status_code == 429
        assert sign_in(Client(), users[LIMIT].username, PASSWORD, address="198.51.100.1").status_code == 302

    def test_a_success_before_the_limit_starts_the_count_again(self, client, staff):
        for _ in range(LIMIT - 1):
            sign_in(client, staff.username, "wrong")
        assert sign_in(client, staff.username, PASSWORD).status_code == 302
        Client().post(reverse("logout"))

        for _ in range(LIMIT - 1):
            sign_in(Client(), staff.username, "wrong")
        assert sign_in(Client(), staff.username, PASSWORD).status_code == 302

    def test_a_password_reset_is_the_way_out(self, client, staff):
        staff.email = "alice@acme.example"
        staff.save(update_fields=["email"])
        for _ in range(LIMIT):
            sign_in(client, staff.username, "wrong")

        client.post(reverse("password_reset"), {"email": staff.email})
        link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
        form = client.get(link, follow=True)
        client.post(form.redirect_chain[-1][0], {"new_password1": "a new long passphrase 7",
                                                 "new_password2": "a new long passphrase 7"})

        assert sign_in(Client(), staff.username, "a new long passphrase 7").status_code == 302
