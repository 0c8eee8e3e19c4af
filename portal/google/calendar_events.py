"""Calendar events at Google: listing, fetching and batched writes, with backoff.

Pure client layer: no Flask, no models. Callers pass a Calendar v3 ``service`` (from
``portal.google.client``) and the batch URL, and get plain dicts back; errors are the
classified ones of ``portal.google.client`` plus :class:`FullSyncRequired`.

Retries: 429, 403 rate limits, 5xx and dropped connections are retried with exponential
backoff and full jitter, a bounded number of times, then :class:`TransientError` (or
:class:`RateLimited`) propagates so the job can end as "retrying" and RQ retries it later.
``sleep`` and ``rng`` are injectable so tests never wait.
"""
import random
import time
from dataclasses import dataclass, field

from portal.google.batch import BatchRequest

from portal.google.client import (GoogleError, PermanentError, RateLimited,
                                  ReauthorizationNeeded, TransientError, classify_error)

#: Google's maximum page size for events.list
MAX_RESULTS = 2500
#: Google's maximum number of requests in one batch
BATCH_SIZE = 50
MAX_ATTEMPTS = 5
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0

OP_INSERT = "insert"
OP_PATCH = "patch"
OP_DELETE = "delete"
#: events.move to ``Write.destination`` (same id; the guests' copies follow)
OP_MOVE = "move"


class FullSyncRequired(GoogleError):
    """Google forgot the sync token (410): clear it and list everything again."""


@dataclass
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base*2**n))."""

    attempts: int = MAX_ATTEMPTS
    base: float = BACKOFF_BASE
    cap: float = BACKOFF_CAP
    sleep: object = time.sleep
    rng: object = field(default_factory=random.Random)

    def delay(self, attempt):
        return self.rng.uniform(0, min(self.cap, self.base * (2 ** attempt)))

    def wait(self, attempt):
        self.sleep(self.delay(attempt))


def events_of(service):
    """The service's ``events()`` collection, built once per service: googleapiclient
    rebuilds every method (and its docstring) on each ``service.events()`` call, which
    cost more than the HTTP of a whole batch."""
    cached = getattr(service, "_portal_events", None)
    if cached is None:
        cached = service.events()
        service._portal_events = cached
    return cached


def _retrying(call, backoff):
    """Run ``call()``; retry transient failures with backoff; raise the last one."""
    for attempt in range(backoff.attempts):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - classified right away
            error = classify_error(exc)
            if not isinstance(error, TransientError) or attempt == backoff.attempts - 1:
                if error is exc:
                    raise
                raise error from exc
            backoff.wait(attempt)
    raise AssertionError("unreachable")


@dataclass
class EventListing:
    """All pages of one events.list: the items, the next sync token, and whether it was a
    full (bounded) listing rather than an incremental one."""

    events: list
    next_sync_token: str | None
    full: bool
    pages: int = 0
    #: the calendar's own zone (an event time without offset or zone is read in it)
    time_zone: str = ""


def list_events(service, calendar_id, *, sync_token=None, time_min=None, backoff=None,
                max_results=MAX_RESULTS):
    """List a calendar's events, all pages, deleted ones included.

    With ``sync_token``: only changes since that token (Google forbids ``timeMin`` then).
    Without: a full listing bounded by ``time_min`` (an aware datetime; the *Synchronize
    from* day), whose result is marked ``full=True`` so the caller may treat missing linked
    events as deleted. A 410 raises :class:`FullSyncRequired`. Any other failure propagates:
    a partial listing is never returned.
    """
    backoff = backoff or Backoff()
    events, page_token, pages = [], None, 0
    while True:
        params = {"calendarId": calendar_id, "maxResults": max_results, "showDeleted": True,
                  "singleEvents": False}
        if page_token:
            params["pageToken"] = page_token
        if sync_token:
            params["syncToken"] = sync_token
        elif time_min is not None:
            params["timeMin"] = time_min.isoformat()
        try:
            response = _retrying(lambda: events_of(service).list(**params).execute(), backoff)
        except PermanentError as exc:
            if exc.status == 410:
                raise FullSyncRequired("Google needs a full sync (sync token expired).",
                                       status=410, reason=exc.reason) from exc
            raise
        pages += 1
        events.extend(response.get("items", []))
        page_token = response.get("nextPageToken")
        if not page_token:
            return EventListing(events=events, next_sync_token=response.get("nextSyncToken"),
                                full=not sync_token, pages=pages,
                                time_zone=response.get("timeZone") or "")


def get_event(service, calendar_id, event_id, backoff=None):
    """One event (cancelled ones too); :class:`PermanentError` with status 404 if unknown."""
    backoff = backoff or Backoff()
    return _retrying(lambda: events_of(service).get(calendarId=calendar_id,
                                                    eventId=event_id).execute(), backoff)


@dataclass
class Write:
    """One event write. ``key`` is the caller's handle (e.g. the action's index)."""

    key: object
    op: str
    event_id: str
    body: dict | None = None
    if_match: str | None = None
    #: overrides the call's ``send_updates`` for this write ("all": Google emails the guests)
    send_updates: str | None = None
    #: for OP_MOVE: the calendar the event goes to
    destination: str | None = None


@dataclass
class WriteResult:
    """Google's answer to one :class:`Write`.

    ``ok``: the write is done (``event`` holds the event Google now has; None for deletes).
    ``conflict_event``: a 412 - Google's copy changed under us; this is the fresh copy.
    ``error``: a classified, non-retryable error for this one event (e.g. 400): log and skip.
    """

    write: Write
    ok: bool = False
    event: dict | None = None
    conflict_event: dict | None = None
    error: GoogleError | None = None
    #: the insert found an existing event with our id (a retry after a crash)
    duplicate: bool = False


def _patchable(body):
    """``body`` for a PATCH: Google merges ``start``/``end`` field by field, so switching an
    event between all-day and timed must clear the other field with null, or Google keeps
    both and refuses the event."""
    if not body:
        return body
    body = dict(body)
    for key in ("start", "end"):
        when = body.get(key)
        if isinstance(when, dict):
            when = dict(when)
            if when.get("date") is not None:
                when.setdefault("dateTime", None)
                when.setdefault("timeZone", None)
            elif when.get("dateTime") is not None:
                when.setdefault("date", None)
            body[key] = when
    return body


def _request(service, calendar_id, write, send_updates):
    events = events_of(service)
    send_updates = write.send_updates or send_updates
    # Without version 1 Google ignores conferenceData (and keeps what the event has): asked
    # only when the body carries it, so no other write can ever touch a conference.
    extra = {"conferenceDataVersion": 1} if "conferenceData" in (write.body or {}) else {}
    if write.op == OP_INSERT:
        request = events.insert(calendarId=calendar_id, body=write.body, sendUpdates=send_updates,
                                **extra)
    elif write.op == OP_PATCH:
        request = events.patch(calendarId=calendar_id, eventId=write.event_id,
                               body=_patchable(write.body), sendUpdates=send_updates, **extra)
    elif write.op == OP_DELETE:
        request = events.delete(calendarId=calendar_id, eventId=write.event_id,
                                sendUpdates=send_updates)
    elif write.op == OP_MOVE:
        request = events.move(calendarId=calendar_id, eventId=write.event_id,
                              destination=write.destination, sendUpdates=send_updates)
    else:
        raise ValueError(f"unknown op {write.op!r}")
    if write.if_match and write.op not in (OP_INSERT, OP_MOVE):
        request.headers["If-Match"] = write.if_match
    return request


def _run_batch(service, batch_uri, calendar_id, writes, send_updates, backoff, pacer=None):
    """Send ``writes`` (at most BATCH_SIZE) as one batch; retry parts that failed
    transiently. Returns {index: (response, classified error or None)}. ``pacer`` (see
    portal.sync.core.pacing) is asked for one token per part first, and told Google's
    Retry-After."""
    outcome = {}
    pending = list(range(len(writes)))
    for attempt in range(backoff.attempts):
        answers = {}
        if pacer is not None:
            pacer.acquire(len(pending))

        def callback(request_id, response, exception):
            answers[int(request_id)] = (response, exception)

        def send():
            answers.clear()
            batch = BatchRequest(callback=callback, batch_uri=batch_uri)
            for index in pending:
                batch.add(_request(service, calendar_id, writes[index], send_updates),
                          request_id=str(index))
            batch.execute()

        _retrying(send, backoff)  # the batch request itself: dropped connection, 5xx...
        retry = []
        for index in pending:
            response, exception = answers.get(index, (None, TransientError("no answer")))
            error = classify_error(exception) if exception is not None else None
            if pacer is not None and isinstance(error, RateLimited) and error.retry_after:
                pacer.pause(error.retry_after)
            if isinstance(error, TransientError) and attempt < backoff.attempts - 1:
                retry.append(index)
            else:
                outcome[index] = (response, error)
        if not retry:
            return outcome
        pending = retry
        backoff.wait(attempt)
    return outcome


def apply_writes(service, batch_uri, calendar_id, writes, *, send_updates="none",
                 backoff=None, batch_size=BATCH_SIZE, pacer=None):
    """Send event writes in batches of ``batch_size`` and return one :class:`WriteResult`
    per write, in order.

    * insert answered 409 (our id already exists: a retry after a crash, or an event deleted
      in Google being revived) -> fetch it and patch it with the body: linked, not duplicated;
    * patch/delete answered 412 -> ``conflict_event`` is Google's fresh copy;
    * delete answered 404/410 -> ok (already gone);
    * other 4xx -> ``error`` on that write only;
    * rate limits, 5xx, dropped connections -> retried with backoff; still failing ->
      :class:`TransientError` propagates (nothing is reported as done that wasn't).
    * :class:`ReauthorizationNeeded` propagates at once.

    ``send_updates``: "none" for bulk work; a write's own ``send_updates`` ("all" when a
    person chose to email the guests about that change) takes precedence. ``pacer``: the
    account's shared write pace (one token per write).
    """
    backoff = backoff or Backoff()
    results = [WriteResult(write=w) for w in writes]
    followups = []  # (WriteResult, Write): a 409 on insert becomes a patch
    for start in range(0, len(writes), batch_size):
        chunk = writes[start:start + batch_size]
        outcome = _run_batch(service, batch_uri, calendar_id, chunk, send_updates, backoff,
                             pacer)
        for offset, write in enumerate(chunk):
            result = results[start + offset]
            response, error = outcome[offset]
            _settle(service, calendar_id, write, result, response, error, followups, backoff)
    if followups:
        patches = [w for _, w in followups]
        outcome_results = apply_writes(service, batch_uri, calendar_id, patches,
                                       send_updates=send_updates, backoff=backoff,
                                       batch_size=batch_size, pacer=pacer)
        for (result, _), patched in zip(followups, outcome_results):
            result.ok = patched.ok
            result.event = patched.event
            result.error = patched.error
            result.conflict_event = patched.conflict_event
            result.duplicate = True
    return results


def _settle(service, calendar_id, write, result, response, error, followups, backoff):
    if error is None:
        result.ok = True
        result.event = response if isinstance(response, dict) and response else None
        return
    if isinstance(error, (TransientError, ReauthorizationNeeded)):
        raise error
    status = getattr(error, "status", None)
    if write.op == OP_DELETE and status in (404, 410):
        result.ok = True
        return
    if write.op == OP_INSERT and status == 409:
        current = get_event(service, calendar_id, write.event_id, backoff)
        body = dict(write.body or {})
        body.pop("id", None)
        body.setdefault("status", "confirmed")
        followups.append((result, Write(
            key=write.key, op=OP_PATCH, event_id=write.event_id, body=body,
            if_match=current.get("etag"), send_updates=write.send_updates)))
        result.duplicate = True
        return
    if status == 412:
        result.conflict_event = get_event(service, calendar_id, write.event_id, backoff)
        return
    result.error = error
