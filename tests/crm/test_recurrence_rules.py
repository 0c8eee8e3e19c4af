"""The Repeat section's choices as RRULE lines and back (pure: no app)."""
from datetime import date

import pytest

from portal.crm.recurrence_rules import (RepeatChoice, build_rrule, parse_rrule,
                                         recurrence_text)

WEEKLY_MO_WE = RepeatChoice(freq="WEEKLY", interval=2, weekdays=("MO", "WE"), ends="count",
                            count=10)


def test_weekly_rule_with_interval_days_and_count():
    assert build_rrule(WEEKLY_MO_WE, all_day=False, zone_name="Europe/Berlin") == \
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10"


def test_weekdays_are_written_monday_first_whatever_order_they_came_in():
    choice = RepeatChoice(freq="WEEKLY", weekdays=("FR", "MO"))
    assert build_rrule(choice, all_day=False, zone_name="UTC") == "RRULE:FREQ=WEEKLY;BYDAY=MO,FR"


def test_until_of_a_timed_series_is_the_end_of_that_local_day_in_utc():
    choice = RepeatChoice(freq="DAILY", ends="until", until=date(2026, 7, 31))
    # 23:59:59 in Berlin summer time (UTC+2) and New York summer time (UTC-4)
    assert build_rrule(choice, all_day=False, zone_name="Europe/Berlin") == \
        "RRULE:FREQ=DAILY;UNTIL=20260731T215959Z"
    assert build_rrule(choice, all_day=False, zone_name="America/New_York") == \
        "RRULE:FREQ=DAILY;UNTIL=20260801T035959Z"


def test_until_of_an_all_day_series_is_a_date():
    choice = RepeatChoice(freq="YEARLY", ends="until", until=date(2030, 1, 2))
    assert build_rrule(choice, all_day=True, zone_name="Europe/Berlin") == \
        "RRULE:FREQ=YEARLY;UNTIL=20300102"


@pytest.mark.parametrize("choice", [
    WEEKLY_MO_WE,
    RepeatChoice(freq="DAILY"),
    RepeatChoice(freq="MONTHLY", interval=3, ends="until", until=date(2027, 3, 31)),
    RepeatChoice(freq="YEARLY", ends="count", count=730),
])
def test_what_is_built_reads_back_as_the_same_choice(choice):
    line = build_rrule(choice, all_day=False, zone_name="America/New_York")
    assert parse_rrule(line, zone_name="America/New_York") == choice


def test_googles_spelling_is_understood():
    parsed = parse_rrule("RRULE:FREQ=WEEKLY;WKST=MO;UNTIL=20261231T225959Z;BYDAY=TU,TH\n"
                         "EXDATE;TZID=Europe/Berlin:20261110T100000",
                         zone_name="Europe/Berlin")
    assert parsed == RepeatChoice(freq="WEEKLY", weekdays=("TU", "TH"), ends="until",
                                  until=date(2026, 12, 31))


def test_weekly_without_byday_repeats_on_the_starts_weekday():
    assert parse_rrule("RRULE:FREQ=WEEKLY", start_weekday="FR").weekdays == ("FR",)


def test_nothing_or_only_exdates_does_not_repeat():
    assert parse_rrule("") == RepeatChoice()
    assert not parse_rrule("EXDATE:20260101T100000Z").repeats


@pytest.mark.parametrize("text", [
    "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    "RRULE:FREQ=MONTHLY;BYMONTHDAY=1,15",
    "RRULE:FREQ=MONTHLY;BYDAY=2TU",
    "RRULE:FREQ=WEEKLY;BYDAY=MO\nRRULE:FREQ=WEEKLY;BYDAY=FR",
    "RRULE:FREQ=DAILY\nRDATE:20260105T100000Z",
    "RRULE:FREQ=HOURLY",
    "RRULE:FREQ=DAILY;INTERVAL=100",
    "RRULE:FREQ=DAILY;COUNT=731",
    "RRULE:FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,MO",
])
def test_rules_the_form_cannot_show_are_not_expressible(text):
    assert parse_rrule(text) is None


def test_an_untouched_rule_is_kept_verbatim():
    current = "RRULE:FREQ=WEEKLY;WKST=SU;BYDAY=TU\nEXDATE:20261110T090000Z"
    choice = RepeatChoice(freq="WEEKLY", weekdays=("TU",))
    assert recurrence_text(choice, current, all_day=False, zone_name="UTC") == current


def test_a_changed_rule_keeps_the_exdates():
    current = "RRULE:FREQ=WEEKLY;BYDAY=TU\nEXDATE;TZID=Europe/Berlin:20261110T100000"
    choice = RepeatChoice(freq="WEEKLY", weekdays=("TU",), ends="count", count=5)
    assert recurrence_text(choice, current, all_day=False, zone_name="Europe/Berlin") == \
        "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=5\nEXDATE;TZID=Europe/Berlin:20261110T100000"


def test_keep_returns_the_current_text_and_does_not_repeat_clears_it():
    current = "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"
    assert recurrence_text(None, current, all_day=False, zone_name="UTC") == current
    assert recurrence_text(RepeatChoice(), current, all_day=False, zone_name="UTC") == ""
