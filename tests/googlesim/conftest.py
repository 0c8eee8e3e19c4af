"""googlesim's own fixtures: one in-process server for the session, reset before each test,
and helpers that build the REAL Google clients pointed at it."""
import os
from datetime import datetime, timedelta, timezone

import google_auth_httplib2
import httplib2
import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from googlesim.testing import (SCOPE_CALENDAR as CAL, SCOPE_CONTACTS as CONTACTS,
                               TEST_CLIENT_ID as CLIENT_ID, TEST_CLIENT_SECRET as CLIENT_SECRET,
                               TEST_REDIRECT_URI as REDIRECT_URI, TEST_USER as USER,
                               SimControl, start_sim)

# httplib2 refuses loopback when a proxy is configured and PySocks is absent.
for _var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
             "ALL_PROXY"):
    os.environ.pop(_var, None)



@pytest.fixture(scope="session")
def gsim():
    server = start_sim()
    yield server
    server.stop()


@pytest.fixture
def base(gsim):
    return gsim.base_url


@pytest.fixture
def ctl(gsim):
    control = SimControl(gsim.base_url)
    control.reset()
    control.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    return control


@pytest.fixture
def make_creds(ctl, base):
    """Credentials for ``email`` with ``scopes``, minted without the browser flow."""

    def factory(email=USER, scopes=(CAL,)):
        tokens = ctl.issue_tokens(email, CLIENT_ID, list(scopes))
        return Credentials(tokens["access_token"], refresh_token=tokens["refresh_token"],
                           token_uri=base + "/token", client_id=CLIENT_ID,
                           client_secret=CLIENT_SECRET, scopes=list(scopes),
                           expiry=datetime.now(timezone.utc).replace(tzinfo=None) +
                           timedelta(seconds=tokens["expires_in"]))

    return factory


def authorized_http(creds):
    return google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(proxy_info=None,
                                                                          timeout=15))


@pytest.fixture
def calendar_for(base):
    def factory(creds):
        return build("calendar", "v3", http=authorized_http(creds), static_discovery=True,
                     client_options={"api_endpoint": base + "/calendar/v3/"})

    return factory


@pytest.fixture
def people_for(base):
    def factory(creds):
        return build("people", "v1", http=authorized_http(creds), static_discovery=True,
                     client_options={"api_endpoint": base + "/"})

    return factory


@pytest.fixture
def cal(make_creds, calendar_for):
    """A Calendar v3 service for USER with the full calendar scope."""
    return calendar_for(make_creds())


@pytest.fixture
def people(make_creds, people_for):
    return people_for(make_creds(scopes=(CONTACTS,)))


@pytest.fixture
def timed():
    return _timed


def _timed(start, hours=1, tz=None):
    """An event body's start/end for a timed event at ``start`` (aware datetime)."""
    out = {"start": {"dateTime": start.isoformat()},
           "end": {"dateTime": (start + timedelta(hours=hours)).isoformat()}}
    if tz:
        out["start"]["timeZone"] = out["end"]["timeZone"] = tz
    return out
