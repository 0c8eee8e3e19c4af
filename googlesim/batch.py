"""POST /batch/calendar/v3: multipart/mixed, each part an HTTP request answered in its own
part, in the format googleapiclient.http.BatchHttpRequest parses.

Kept cheap on purpose (benchmarks send thousands of parts): the body is split on its
boundary by hand rather than through the ``email`` package, and each part is handed
straight to the WSGI app with an environ built here, not through a test client. A part
still goes through everything a request does (auth, faults, statistics, error envelope).
"""
import base64
import binascii
import io
import quopri
import re
import secrets
import sys
from urllib.parse import unquote_to_bytes, urlsplit

from flask import Blueprint, Response, current_app, request

from .errors import ApiError

bp = Blueprint("batch", __name__)
MAX_PARTS = 50
_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
_BOUNDARY_RE = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_HEAD_END_RE = re.compile(rb"\r?\n\r?\n")
_BAD_PART = (b'HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n'
             b'{"error":{"code":400,"message":"Bad Request","errors":[{"domain":"global",'
             b'"reason":"badRequest","message":"Bad Request"}],"status":"INVALID_ARGUMENT"}}')


def _not_multipart():
    return ApiError(400, "badRequest", "Batch requests must be multipart/mixed.")


def _split_head(raw):
    """(header lines as str, body bytes) of a MIME entity or an HTTP message."""
    m = _HEAD_END_RE.search(raw)
    if m is None:
        head, body = raw, b""
    else:
        head, body = raw[:m.start()], raw[m.end():]
    return head.decode("latin-1").replace("\r\n", "\n").split("\n"), body


def _headers(lines):
    out = {}
    for line in lines:
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def _parse_parts():
    """The parts of the multipart body: [(part headers, payload bytes)]."""
    ctype = request.headers.get("Content-Type", "")
    if not ctype.lower().startswith("multipart/"):
        raise _not_multipart()
    m = _BOUNDARY_RE.search(ctype)
    if m is None:
        raise _not_multipart()
    boundary = (m.group(1) or m.group(2)).encode("latin-1")
    # A delimiter is a line break, "--" and the boundary; the first may open the body.
    segments = re.split(rb"\r?\n--" + re.escape(boundary), b"\r\n" + request.get_data())
    if len(segments) < 2:
        raise _not_multipart()
    parts = []
    for seg in segments[1:]:
        if seg.startswith(b"--"):
            break  # the close delimiter; the rest is the epilogue
        nl = seg.find(b"\n")  # the rest of the delimiter line (transport padding)
        lines, payload = _split_head(seg[nl + 1:] if nl >= 0 else b"")
        parts.append((_headers(lines), payload))
    return parts


def _decode(headers, payload):
    cte = next((v for k, v in headers.items()
                if k.lower() == "content-transfer-encoding"), "").lower()
    if cte == "base64":
        return base64.b64decode(payload)
    if cte == "quoted-printable":
        return quopri.decodestring(payload)
    return payload


def _parse_http(payload):
    """(method, target, headers, body) from an embedded 'application/http' request."""
    lines, body = _split_head(payload.lstrip(b"\r\n"))
    method, target = lines[0].split(" ")[:2]
    if method.upper() not in _METHODS or not target.startswith(("/", "http://", "https://")):
        raise ValueError("not an HTTP request line")
    return method.upper(), target, _headers(lines[1:]), body


def _dispatch(app, outer, method, target, headers, body):
    """Run one part through the WSGI app; (status line, [(header, value)], body bytes)."""
    url = urlsplit(target)
    environ = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(url.path or "/").decode("latin-1"),
        "QUERY_STRING": url.query, "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": outer.get("SERVER_NAME", "127.0.0.1"),
        "SERVER_PORT": outer.get("SERVER_PORT", "80"),
        "REMOTE_ADDR": outer.get("REMOTE_ADDR"),
        "HTTP_HOST": outer.get("HTTP_HOST", "127.0.0.1"),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0), "wsgi.url_scheme": outer.get("wsgi.url_scheme", "http"),
        "wsgi.input": io.BytesIO(body), "wsgi.errors": outer.get("wsgi.errors", sys.stderr),
        "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "googlesim.batch_part": True}
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key not in ("CONTENT_LENGTH", "HOST"):
            environ["HTTP_" + key] = value
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = status, response_headers
        return lambda data: None

    # A fresh app context per part, so one part's `g` never leaks into the next.
    with app.app_context():
        chunks = app.wsgi_app(environ, start_response)
        try:
            data = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
    return answer["status"], answer["headers"], data


@bp.post("/batch/calendar/v3")
@bp.post("/batch")
def batch():
    parts = _parse_parts()
    if len(parts) > MAX_PARTS:
        raise ApiError(400, "batchSizeTooLarge",
                       f"A batch request cannot contain more than {MAX_PARTS} requests.")
    outer_auth = request.headers.get("Authorization")
    app = current_app._get_current_object()
    outer = request.environ
    boundary = "batch_" + secrets.token_hex(12)
    chunks = []
    for part_headers, payload in parts:
        content_id = next((v for k, v in part_headers.items() if k.lower() == "content-id"),
                          None)
        try:
            method, target, headers, body = _parse_http(_decode(part_headers, payload))
        except (ValueError, IndexError, binascii.Error):
            answer = _BAD_PART
        else:
            if outer_auth and not any(k.lower() == "authorization" for k in headers):
                headers["Authorization"] = outer_auth
            status, resp_headers, data = _dispatch(app, outer, method, target, headers, body)
            head = [f"HTTP/1.1 {status}"]
            head += [f"{k}: {v}" for k, v in resp_headers
                     if k.lower() in ("content-type", "etag")]
            answer = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data
        head = "Content-Type: application/http\r\n"
        if content_id:
            cid = content_id.strip()
            if cid.startswith("<") and cid.endswith(">"):
                cid = cid[1:-1]
            head += f"Content-ID: <response-{cid}>\r\n"
        chunks.append(f"--{boundary}\r\n{head}\r\n".encode("utf-8") + answer + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return Response(b"".join(chunks), status=200,
                    content_type=f"multipart/mixed; boundary={boundary}")
