"""POST /batch/calendar/v3: multipart/mixed, each part an HTTP request answered in its own
part, in the format googleapiclient.http.BatchHttpRequest parses."""
import secrets
from email.parser import BytesParser
from email.policy import HTTP

from flask import Blueprint, Response, current_app, request

from .errors import ApiError

bp = Blueprint("batch", __name__)
MAX_PARTS = 50


def _parse_parts():
    ctype = request.headers.get("Content-Type", "")
    if not ctype.lower().startswith("multipart/"):
        raise ApiError(400, "badRequest", "Batch requests must be multipart/mixed.")
    raw = b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + request.get_data()
    msg = BytesParser(policy=HTTP).parsebytes(raw)
    if not msg.is_multipart():
        raise ApiError(400, "badRequest", "Batch requests must be multipart/mixed.")
    return msg.get_payload()


def _parse_http(payload):
    """(method, path, headers, body) from an embedded 'application/http' request."""
    if not isinstance(payload, (bytes, str)):
        raise ValueError("not an embedded HTTP request")
    text = payload if isinstance(payload, str) else payload.decode("utf-8")
    text = text.lstrip("\r\n")
    head, _, body = text.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    method, path = lines[0].split(" ")[:2]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip()] = v.strip()
    return method.upper(), path, headers, body.encode()


def _answer(status, reason, headers, body):
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return "\r\n".join(lines) + "\r\n\r\n" + body


@bp.post("/batch/calendar/v3")
@bp.post("/batch")
def batch():
    parts = _parse_parts()
    if len(parts) > MAX_PARTS:
        raise ApiError(400, "batchSizeTooLarge",
                       f"A batch request cannot contain more than {MAX_PARTS} requests.")
    outer_auth = request.headers.get("Authorization")
    client = current_app.test_client()
    boundary = "batch_" + secrets.token_hex(12)
    chunks = []
    for part in parts:
        content_id = part.get("Content-ID")
        try:
            method, path, headers, body = _parse_http(part.get_payload(decode=True))
        except (ValueError, IndexError, UnicodeDecodeError):
            answer = _answer(400, "Bad Request", [("Content-Type", "application/json")],
                             '{"error":{"code":400,"message":"Bad Request","errors":[{"domain"'
                             ':"global","reason":"badRequest","message":"Bad Request"}],'
                             '"status":"INVALID_ARGUMENT"}}')
        else:
            if outer_auth and not any(k.lower() == "authorization" for k in headers):
                headers["Authorization"] = outer_auth
            headers = {k: v for k, v in headers.items()
                       if k.lower() not in ("host", "content-length")}
            resp = client.open(path, method=method, headers=headers, data=body,
                               environ_overrides={"googlesim.batch_part": True,
                                                  "REMOTE_ADDR": request.remote_addr})
            resp_headers = [(k, v) for k, v in resp.headers.items()
                            if k.lower() in ("content-type", "etag")]
            answer = _answer(resp.status_code, resp.status.split(" ", 1)[1]
                             if " " in resp.status else "", resp_headers,
                             resp.get_data(as_text=True))
        head = "Content-Type: application/http\r\n"
        if content_id:
            cid = content_id.strip()
            if cid.startswith("<") and cid.endswith(">"):
                cid = cid[1:-1]
            head += f"Content-ID: <response-{cid}>\r\n"
        chunks.append(f"--{boundary}\r\n{head}\r\n{answer}\r\n")
    out = "".join(chunks) + f"--{boundary}--\r\n"
    return Response(out, status=200, content_type=f"multipart/mixed; boundary={boundary}")
