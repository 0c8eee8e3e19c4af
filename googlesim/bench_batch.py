"""How much the batch endpoint costs next to the client that calls it.

    python -m googlesim.bench_batch [--events 10000] [--per-batch 50]

Starts googlesim in its own process (so the two CPU bills can be told apart), then inserts
``--events`` events through google-api-python-client's BatchHttpRequest, ``--per-batch``
per batch, and prints wall time plus the CPU seconds spent by the client process and by
the simulator process. Not run by the tests.
"""
import argparse
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone


def _cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m googlesim.bench_batch")
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--per-batch", type=int, default=50)
    args = parser.parse_args(argv)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        os.environ.pop(var, None)

    import google_auth_httplib2
    import httplib2
    from google.oauth2.credentials import Credentials
    from googleapiclient.discovery import build
    from googleapiclient.http import BatchHttpRequest

    from .testing import (SCOPE_CALENDAR, TEST_CLIENT_ID, TEST_CLIENT_SECRET,
                          TEST_REDIRECT_URI, TEST_USER, SimControl)

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "googlesim", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        ctl = SimControl(base)
        for _ in range(100):
            try:
                ctl.reset()
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.05)
        ctl.register_client(TEST_CLIENT_ID, TEST_CLIENT_SECRET, [TEST_REDIRECT_URI])
        tokens = ctl.issue_tokens(TEST_USER, TEST_CLIENT_ID, [SCOPE_CALENDAR])
        creds = Credentials(tokens["access_token"], refresh_token=tokens["refresh_token"],
                            token_uri=base + "/token", client_id=TEST_CLIENT_ID,
                            client_secret=TEST_CLIENT_SECRET, scopes=[SCOPE_CALENDAR],
                            expiry=datetime.now(timezone.utc).replace(tzinfo=None) +
                            timedelta(seconds=tokens["expires_in"]))
        http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(proxy_info=None))
        cal = build("calendar", "v3", http=http, static_discovery=True,
                    client_options={"api_endpoint": base + "/calendar/v3/"})
        t0 = datetime(2030, 1, 1, 9, tzinfo=timezone.utc)
        failures = []

        def callback(request_id, response, exception):
            if exception is not None:
                failures.append(exception)

        sim_cpu0, client_cpu0, wall0 = _cpu_seconds(proc.pid), time.process_time(), \
            time.perf_counter()
        for first in range(0, args.events, args.per_batch):
            batch = BatchHttpRequest(callback=callback, batch_uri=base + "/batch/calendar/v3")
            for i in range(first, min(first + args.per_batch, args.events)):
                start = t0 + timedelta(minutes=i)
                batch.add(cal.events().insert(calendarId="primary", body={
                    "summary": f"Event {i}", "start": {"dateTime": start.isoformat()},
                    "end": {"dateTime": (start + timedelta(minutes=30)).isoformat()}}))
            batch.execute(http=http)
        wall = time.perf_counter() - wall0
        client_cpu = time.process_time() - client_cpu0
        sim_cpu = _cpu_seconds(proc.pid) - sim_cpu0
        stats = ctl.stats()
        print(f"{args.events} inserts in batches of {args.per_batch}: wall {wall:.2f} s, "
              f"client CPU {client_cpu:.2f} s, simulator CPU {sim_cpu:.2f} s "
              f"({sim_cpu / args.events * 1e6:.0f} us per part), "
              f"failures {len(failures)}, parts counted {stats['batch_parts']}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
