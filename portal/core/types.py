"""Column types shared by every model."""
import uuid
from datetime import datetime, timezone

from sqlalchemy import DateTime, String
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime in Python, a naive UTC timestamp in the database.

    Storing naive UTC behaves the same on SQLite (which has no time zones) and PostgreSQL,
    and refusing naive input catches local-time bugs where they are written.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class GUID(TypeDecorator):
    """A UUID stored as 32 hex characters, portable across databases."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, uuid.UUID):
            value = uuid.UUID(str(value))
        return value.hex

    def process_result_value(self, value, dialect):
        return None if value is None else uuid.UUID(value)


def utcnow():
    """Now, timezone-aware in UTC (patch this in tests to move time)."""
    return datetime.now(timezone.utc)
