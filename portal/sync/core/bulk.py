"""Reading many rows by id in bounded IN lists (no database hits its bound-parameter limit,
and no query per row)."""
from portal.extensions import db

#: ids per SQL IN list
IN_CHUNK = 500


def chunks(items, size=IN_CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def in_query(stmt_for, ids):
    """Run ``stmt_for(chunk)`` for every IN chunk of ``ids``; concatenate the results."""
    out = []
    for chunk in chunks(ids):
        out.extend(db.session.scalars(stmt_for(chunk)).unique().all())
    return out
