"""The nearest of Google's eleven event colours to a CRM colour."""
import pytest

from portal.core.colors import EVENT_COLORS, color_of_id, is_hex_color, nearest_color_id


@pytest.mark.parametrize("color_id", sorted(EVENT_COLORS))
def test_a_palette_colour_is_its_own_nearest(color_id):
    assert nearest_color_id(EVENT_COLORS[color_id]) == color_id
    assert nearest_color_id(EVENT_COLORS[color_id].upper()) == color_id


@pytest.mark.parametrize("value, expected", [
    ("#ff0000", "11"),   # pure red: Tomato
    ("#0000ff", "9"),    # pure blue: Blueberry
    ("#008000", "10"),   # green: Basil
    ("#ffff00", "5"),    # yellow: Banana
    ("#ffffff", "8"),    # white: Graphite, the palest
    ("#4f8a3c", "10"),   # a dark green
    ("#00ffff", "7"),    # cyan: Peacock
])
def test_other_colours_go_to_the_nearest(value, expected):
    assert nearest_color_id(value) == expected


@pytest.mark.parametrize("value", ["", "red", "#fff", "#12345g", "#1234567", None, "123456"])
def test_only_rrggbb_is_a_colour(value):
    assert not is_hex_color(value)
    assert nearest_color_id(value) is None


def test_ids_map_back_to_their_colour():
    assert color_of_id("3") == "#dbadff"
    assert color_of_id("99") is None and color_of_id(None) is None
