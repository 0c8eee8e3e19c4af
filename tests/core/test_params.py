"""The one bounded parser of query-string ints and dates."""
from datetime import date

import pytest

from portal.core.params import MAX_ID, parse_date, parse_int


@pytest.mark.parametrize("text,expected", [
    ("7", 7), (" 7 ", 7), (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), ("0", None),
    ("-3", None), (str(2**63), None), ("9" * 40, None), ("1.5", None), ("1e3", None),
    ("", None), ("x", None), ("٣", None), (None, None),
])
def test_parse_int(text, expected):
    assert parse_int(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("2031-01-06", date(2031, 1, 6)), ("2031-01-06T10:00:00", date(2031, 1, 6)),
    ("1900-01-01", date(1900, 1, 1)), ("2999-12-31", date(2999, 12, 31)),
    ("9999-12-31", None), ("0001-01-01", None), ("1899-12-31", None), ("2024-02-30", None),
    ("31/12/2031", None), ("", None), (None, None), ("2031-01-06" + "x" * 200, None),
])
def test_parse_date(text, expected):
    assert parse_date(text) == expected


def test_the_activity_list_says_when_a_date_is_out_of_range(admin_client):
    response = admin_client.get("/activities", query_string={"date_to": "9999-12-31"})
    assert response.status_code == 200
    assert "Choose a date between 1900-01-01 and 2999-12-31." in response.get_data(as_text=True)


@pytest.mark.parametrize("query", [{"page": str(2**64)}, {"tag": str(2**64)},
                                   {"owner": str(2**64)}])
def test_overflowing_contact_filters_are_ignored(admin_client, query):
    assert admin_client.get("/contacts", query_string=query).status_code == 200
