"""Fixtures for the adversarial end-to-end scenarios (issue 9); helpers live in
``scenario_kit`` next to this file (importable from the scenario modules)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture
def browser(app, login):
    """``browser(user)``: a fresh test client logged in as ``user`` (one per person)."""

    def open_for(user):
        return login(app.test_client(), user)

    return open_for
