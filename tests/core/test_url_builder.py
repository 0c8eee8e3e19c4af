"""url_builder: the links a page repeats hundreds of times are the links url_for makes."""
import pytest
from flask import url_for

from portal.core.urls import url_builder


@pytest.fixture
def request_ctx(app):
    with app.test_request_context("/"):
        yield


@pytest.mark.parametrize("value", [1, 42, 2_147_483_647])
def test_activity_links_match_url_for(request_ctx, value):
    here = "/?view=month&date=2031-03-15&user=7"
    build = url_builder("crm.activity_detail", "activity_id", next=here)
    assert build(value) == url_for("crm.activity_detail", activity_id=value, next=here)


def test_the_slot_keeps_its_place_in_the_query_and_none_values_are_dropped(request_ctx):
    build = url_builder("crm.calendar", "date", view="day", date=None, user=3, google=None)
    assert build("2031-03-02") == "/?view=day&date=2031-03-02&user=3"
    assert build("2031-03-02") == url_for("crm.calendar", view="day", date="2031-03-02", user=3)


@pytest.mark.parametrize("value", ["a b&c=d", "é", "1/2", "#x"])
def test_values_that_need_quoting_go_through_url_for(request_ctx, value):
    build = url_builder("crm.activity_new", "date", next="/activities?")
    assert build(value) == url_for("crm.activity_new", next="/activities?", date=value)
