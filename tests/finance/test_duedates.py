from datetime import date

import pytest

from finance.duedates import DAYS_AFTER, NTH_DAY_MONTHS_AFTER, DueDateRule

POSTED = date(2026, 5, 20)


class TestScenario5a:
    rule = DueDateRule(kind=NTH_DAY_MONTHS_AFTER, nth_day=15, months=1)

    def test_an_empty_due_date_becomes_the_15th_of_next_month(self):
        assert self.rule.default(POSTED) == date(2026, 6, 15)

    def test_only_the_15th_of_next_month_is_allowed(self):
        assert self.rule.check(date(2026, 6, 15), POSTED) is None
        assert self.rule.check(date(2026, 6, 16), POSTED) == (
            "The due date must be 15 June 2026 under the account's credit rule."
        )


class TestScenario5b:
    rule = DueDateRule(kind=DAYS_AFTER, days=10)

    def test_an_empty_due_date_becomes_ten_days_after_posting(self):
        assert self.rule.default(POSTED) == date(2026, 5, 30)

    def test_another_date_is_refused(self):
        assert self.rule.check(date(2026, 5, 30), POSTED) is None
        assert self.rule.check(date(2026, 5, 29), POSTED) == (
            "The due date must be 30 May 2026 under the account's credit rule."
        )


class TestScenario5c:
    rule = DueDateRule(kind=DAYS_AFTER, days=10, proximity_days=-5)

    def test_an_empty_due_date_becomes_the_earliest_allowed(self):
        assert self.rule.default(POSTED) == date(2026, 5, 25)

    @pytest.mark.parametrize("day", [25, 27, 30])
    def test_any_day_within_the_proximity_range_is_allowed(self, day):
        assert self.rule.check(date(2026, 5, day), POSTED) is None

    @pytest.mark.parametrize("day", [24, 31])
    def test_a_day_outside_it_is_refused_naming_the_range(self, day):
        assert self.rule.check(date(2026, 5, day), POSTED) == (
            "The due date must be between 25 May 2026 and 30 May 2026 under the account's credit rule."
        )


class TestMonthEnds:
    def test_the_31st_becomes_the_last_day_of_a_short_month(self):
        rule = DueDateRule(kind=NTH_DAY_MONTHS_AFTER, nth_day=31, months=1)

        assert rule.default(date(2027, 1, 10)) == date(2027, 2, 28)
        assert rule.default(date(2028, 1, 10)) == date(2028, 2, 29)

    def test_months_roll_over_the_year(self):
        rule = DueDateRule(kind=NTH_DAY_MONTHS_AFTER, nth_day=1, months=2)

        assert rule.default(date(2026, 11, 30)) == date(2027, 1, 1)
