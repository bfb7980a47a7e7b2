"""Sessions end after an hour without a request, and when the password changes; activity keeps them alive
without a database write on every request."""

import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from crm.middleware import SEEN_AT
from tests.conftest import logged_in


def session_row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


@pytest.mark.django_db
class TestSessions:
    def test_a_session_idle_past_the_limit_ends(self, staff):
        client = logged_in(staff)
        Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))

        response = client.get(reverse("crm:customer_list"))

        assert response.status_code == 302 and response.url.startswith(reverse("login"))

    def test_activity_after_the_refresh_interval_pushes_the_expiry_on(self, staff, settings):
        client = logged_in(staff)
        session = client.session
        session[SEEN_AT] = int(time.time()) - settings.SESSION_REFRESH_SECONDS - 1
        session.save()
        Session.objects.update(expire_date=timezone.now() + timedelta(minutes=2))

        client.get(reverse("crm:customer_list"))

        assert session_row(client).expire_date > timezone.now() + timedelta(minutes=59)

    def test_activity_within_the_interval_writes_nothing(self, staff):
        client = logged_in(staff)
        Session.objects.update(expire_date=timezone.now() + timedelta(minutes=30))
        before = session_row(client).expire_date

        client.get(reverse("crm:customer_list"))

        assert session_row(client).expire_date == before

    def test_a_new_password_ends_the_other_sessions(self, staff):
        client = logged_in(staff)
        staff.set_password("an entirely new passphrase 5")
        staff.save()

        response = client.get(reverse("crm:customer_list"))

        assert response.status_code == 302 and response.url.startswith(reverse("login"))
