"""Schedule arithmetic of instalment plans: pure functions, no database."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from obligations.services import schedules
from obligations.services.schedules import Calendar, PlannedInstalment

D = Decimal
ENGLAND = Calendar(country="GB", subdivision="ENG")
IRELAND = Calendar(country="IE")
NO_HOLIDAYS = Calendar(country="XX")


def plan(total, count, *, first=date(2026, 2, 2), amount=None, business=NO_HOLIDAYS, direction="next",
         frequency="monthly", currency="GBP"):
    return schedules.automatic_schedule(
        total=D(total), currency=currency, first_due_on=first, count=count,
        instalment_amount=None if amount is None else D(amount), business=business, direction=direction,
        frequency=frequency,
    )


def amounts(planned):
    return [p.amount for p in planned]


def dates(planned):
    return [p.due_on for p in planned]


class TestAmounts:
    def test_a_total_not_divisible_by_the_count_puts_the_rounding_on_the_last_instalment(self):
        planned = plan("100.00", 3)

        assert amounts(planned) == [D("33.33"), D("33.33"), D("33.34")]
        assert sum(amounts(planned)) == D("100.00")

    def test_a_given_instalment_amount_leaves_the_remainder_to_the_last(self):
        planned = plan("1000.00", 4, amount="300.00")

        assert amounts(planned) == [D("300.00"), D("300.00"), D("300.00"), D("100.00")]

    def test_a_given_amount_a_cent_low_is_rounding_the_last_absorbs(self):
        assert amounts(plan("100.00", 3, amount="33.33")) == [D("33.33"), D("33.33"), D("33.34")]
        assert amounts(plan("100.00", 3, amount="33.34")) == [D("33.34"), D("33.34"), D("33.32")]

    def test_eleven_instalments_of_a_prime_total_add_up_exactly(self):
        planned = plan("1234.57", 11)

        assert amounts(planned)[:10] == [D("112.23")] * 10
        assert amounts(planned)[10] == D("112.27")
        assert sum(amounts(planned)) == D("1234.57")

    def test_a_plan_that_overshoots_is_refused_naming_the_difference(self):
        with pytest.raises(ValidationError) as refused:
            plan("1000.00", 5, amount="300.00")

        assert refused.value.message_dict == {"instalment_amount": [
            "The plan overshoots the total £1,000.00 by £500.00: 5 instalments of £300.00 come to £1,500.00. "
            "Lower the amount or the number of instalments."]}

    def test_a_plan_that_falls_short_is_refused_naming_the_difference(self):
        with pytest.raises(ValidationError) as refused:
            plan("1000.00", 4, amount="100.00")

        assert refused.value.message_dict == {"instalment_amount": [
            "The plan falls £600.00 short of the total £1,000.00: 4 instalments of £100.00 come to £400.00. "
            "Raise the amount or the number of instalments."]}

    def test_more_instalments_than_cents_is_refused(self):
        with pytest.raises(ValidationError) as refused:
            plan("0.02", 3)

        assert refused.value.message_dict == {"count": ["£0.02 cannot be split into 3 instalments."]}

    def test_a_count_out_of_range_is_refused(self):
        for count in (0, 121):
            with pytest.raises(ValidationError) as refused:
                plan("100.00", count)
            assert refused.value.message_dict == {"count": ["Between 1 and 120 instalments."]}

    def test_a_one_off_payment_is_one_instalment_of_the_total(self):
        assert plan("250.00", 1) == [PlannedInstalment(number=1, amount=D("250.00"), due_on=date(2026, 2, 2))]


class TestMonthEnds:
    def test_the_31st_becomes_the_28th_of_february_and_the_31st_again_after(self):
        assert schedules.nominal_dates(first_due_on=date(2027, 1, 31), count=4) == [
            date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]

    def test_month_ends_on_weekends_move_back_when_the_obligation_says_so(self):
        # 31 Jan 2027 and 28 Feb 2027 are Sundays.
        assert dates(plan("300.00", 3, first=date(2026, 12, 31), direction="previous")) == [
            date(2026, 12, 31), date(2027, 1, 29), date(2027, 2, 26)]

    def test_in_a_leap_year_the_31st_becomes_the_29th_of_february(self):
        assert schedules.nominal_dates(first_due_on=date(2028, 1, 31), count=3) == [
            date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31)]

    def test_month_ends_across_a_year_are_business_days(self):
        # 31 Jan 2027 is a Sunday → Mon 1 Feb; 28 Feb 2027 a Sunday → Mon 1 Mar; 31 Mar a Wednesday.
        assert dates(plan("300.00", 3, first=date(2027, 1, 31))) == [
            date(2027, 2, 1), date(2027, 3, 1), date(2027, 3, 31)]


class TestHolidays:
    def test_new_years_day_moves_to_the_next_business_day(self):
        # 1 Jan 2027 is a Friday and a holiday in England → Monday 4 January.
        assert dates(plan("200.00", 2, first=date(2027, 1, 1), business=ENGLAND)) == [
            date(2027, 1, 4), date(2027, 2, 1)]

    def test_new_years_day_moves_to_the_previous_business_day_when_the_obligation_says_so(self):
        assert dates(plan("200.00", 2, first=date(2027, 1, 1), business=ENGLAND, direction="previous")) == [
            date(2026, 12, 31), date(2027, 2, 1)]

    def test_easter_monday_in_ireland_moves_to_tuesday(self):
        assert dates(plan("200.00", 2, first=date(2026, 3, 6), business=IRELAND)) == [
            date(2026, 3, 6), date(2026, 4, 7)]

    def test_easter_monday_and_good_friday_in_england_move_back_to_thursday(self):
        assert dates(plan("100.00", 1, first=date(2026, 4, 6), business=ENGLAND, direction="previous")) == [
            date(2026, 4, 2)]

    def test_easter_monday_is_not_a_holiday_in_scotland_or_for_a_country_wide_gb_tenant(self):
        assert dates(plan("100.00", 1, first=date(2026, 4, 6), business=Calendar(country="GB"))) == [date(2026, 4, 6)]

    def test_a_closing_day_of_the_tenant_moves_the_date_too(self):
        business = Calendar(country="GB", closing_days=[date(2026, 8, 14)])

        assert dates(plan("100.00", 1, first=date(2026, 8, 14), business=business)) == [date(2026, 8, 17)]

    def test_holiday_names_say_why(self):
        assert ENGLAND.holiday_name(date(2026, 4, 6)) == "Easter Monday"
        assert ENGLAND.holiday_name(date(2027, 1, 1)) == "New Year's Day"
        assert ENGLAND.is_business_day(date(2026, 4, 7))


class TestCollisions:
    def test_a_moved_date_that_reaches_the_next_instalment_moves_the_other_way(self):
        # Weekly on Mondays; the tenant is closed 6–10 April 2026 (Easter Monday included), so the
        # instalment of Monday 6 April would move to Monday 13 April, the next instalment's date: it moves
        # back instead, past Good Friday, to Thursday 2 April.
        business = Calendar(country="GB", subdivision="ENG",
                            closing_days=[date(2026, 4, d) for d in range(7, 11)])

        planned = plan("400.00", 4, first=date(2026, 3, 30), business=business, frequency="weekly")

        assert dates(planned) == [date(2026, 3, 30), date(2026, 4, 2), date(2026, 4, 13), date(2026, 4, 20)]

    def test_a_date_that_collides_both_ways_is_refused_naming_the_instalment(self):
        business = Calendar(country="XX", closing_days=[date(2026, 3, d) for d in range(3, 14)])

        with pytest.raises(ValidationError) as refused:
            plan("300.00", 3, first=date(2026, 3, 2), business=business, frequency="weekly")

        assert refused.value.message_dict == {"first_due_on": [
            "Instalment 2 falls on 9 March 2026, which is not a business day, and moving it either way reaches "
            "another instalment's date. Choose other dates."]}


class TestManualPlans:
    def test_instalments_adding_up_to_the_total_are_taken_in_date_order(self):
        planned = schedules.check_manual(total=D("500.00"), currency="EUR", rows=[
            (date(2026, 6, 1), D("200.00")), (date(2026, 5, 1), D("300.00"))])

        assert planned == [PlannedInstalment(1, D("300.00"), date(2026, 5, 1)),
                           PlannedInstalment(2, D("200.00"), date(2026, 6, 1))]

    def test_a_plan_that_falls_short_is_refused_naming_the_difference(self):
        with pytest.raises(ValidationError) as refused:
            schedules.check_manual(total=D("500.00"), currency="EUR", rows=[(date(2026, 5, 1), D("300.00"))])

        assert refused.value.message_dict == {"instalments": [
            "The instalments add up to €300.00, €200.00 short of the total €500.00. Add an instalment or raise "
            "an amount."]}

    def test_a_plan_that_overshoots_is_refused_naming_the_difference(self):
        with pytest.raises(ValidationError) as refused:
            schedules.check_manual(total=D("500.00"), currency="EUR", rows=[
                (date(2026, 5, 1), D("300.00")), (date(2026, 6, 1), D("200.01"))])

        assert refused.value.message_dict == {"instalments": [
            "The instalments add up to €500.01, €0.01 more than the total €500.00. Lower an amount."]}

    def test_what_remains_is_shown_as_rows_are_added(self):
        assert schedules.manual_remaining(total=D("500.00"), amounts=[D("120.50")]) == D("379.50")

    def test_no_instalment_is_refused(self):
        with pytest.raises(ValidationError) as refused:
            schedules.check_manual(total=D("500.00"), currency="EUR", rows=[])

        assert refused.value.message_dict == {"instalments": ["Add at least one instalment."]}
