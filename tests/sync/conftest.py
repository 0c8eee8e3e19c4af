"""Helpers for sync tests. The fixtures (google_base, configured, connect_user, work, sync)
live in tests/conftest.py, shared with the scheduler tests."""
from datetime import datetime, timedelta, timezone

import pytest

def live(events):
    """Events that are not deleted."""
    return [e for e in events if e.get("status") != "cancelled"]
