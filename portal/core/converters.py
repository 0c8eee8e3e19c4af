"""URL converters shared by every blueprint."""
from werkzeug.routing import IntegerConverter

#: largest id a database INTEGER primary key can hold (PostgreSQL's int4)
MAX_ID = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` that refuses ids no row can have, so a pasted or forged huge number
    is a plain 404 rather than a database overflow error."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
