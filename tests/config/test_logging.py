"""What the log shows of a refused request: one line, no traceback, printed once."""

import logging
import sys

import pytest
from django.urls import reverse

from config.log_filters import ClientErrorsWithoutTraceback


@pytest.mark.django_db
class TestRefusedRequestsInTheLog:
    def test_a_403_is_one_line_without_a_traceback(self, staff_client, caplog):
        url = reverse("finance:settings_index")  # for accountants only

        response = staff_client.get(url)

        assert response.status_code == 403
        [record] = [r for r in caplog.records if r.name == "django.request"]
        assert (record.getMessage(), record.exc_info, record.exc_text) == (
            f"Forbidden (Permission denied): {url}", None, None)

    def test_djangos_records_are_printed_once_by_the_root_handler(self):
        assert logging.getLogger("django").handlers == []
        assert logging.getLogger("django").propagate is True

    def test_a_server_error_keeps_its_traceback(self):
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: /x",
                                       None, sys.exc_info())
        record.status_code = 500

        assert ClientErrorsWithoutTraceback().filter(record) is True
        assert record.exc_info[0] is RuntimeError
