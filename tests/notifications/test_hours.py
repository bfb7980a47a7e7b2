from datetime import UTC, datetime, time

import pytest

from notifications.hours import EVERY_DAY, days_to_mask, mask_to_days, next_sending_time

LONDON = {"time_zone": "Europe/London", "start": time(8), "end": time(20), "days": EVERY_DAY}


class TestNextSendingTime:
    def test_inside_the_hours_is_now(self):
        at = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)

        assert next_sending_time(at=at, **LONDON) == at

    def test_before_the_start_waits_for_the_start_of_that_day(self):
        assert next_sending_time(at=datetime(2026, 3, 4, 6, 30, tzinfo=UTC), **LONDON) == datetime(
            2026, 3, 4, 8, 0, tzinfo=UTC)

    def test_at_the_end_waits_for_the_next_morning(self):
        assert next_sending_time(at=datetime(2026, 3, 4, 20, 0, tzinfo=UTC), **LONDON) == datetime(
            2026, 3, 5, 8, 0, tzinfo=UTC)

    def test_counts_in_the_tenants_time_zone_in_summer_time(self):
        # 07:30 UTC is 08:30 in London in July (BST): inside the hours.
        at = datetime(2026, 7, 1, 7, 30, tzinfo=UTC)

        assert next_sending_time(at=at, **LONDON) == at
        assert next_sending_time(at=datetime(2026, 7, 1, 19, 30, tzinfo=UTC), **LONDON) == datetime(
            2026, 7, 2, 7, 0, tzinfo=UTC)

    def test_skips_days_that_are_not_sending_days(self):
        weekdays = {**LONDON, "days": (0, 1, 2, 3, 4)}
        friday_evening = datetime(2026, 3, 6, 21, 0, tzinfo=UTC)

        assert next_sending_time(at=friday_evening, **weekdays) == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)

    def test_refuses_hours_that_end_before_they_start(self):
        with pytest.raises(ValueError, match="start before the end"):
            next_sending_time(at=datetime(2026, 3, 4, tzinfo=UTC), **{**LONDON, "start": time(20), "end": time(8)})


class TestDaysMask:
    def test_round_trips(self):
        assert days_to_mask([0, 4, 6]) == 0b1010001
        assert mask_to_days(0b1010001) == (0, 4, 6)
        assert mask_to_days(days_to_mask(EVERY_DAY)) == EVERY_DAY
