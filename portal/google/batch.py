"""Calendar batch requests with a lean wire codec.

google-api-python-client writes each part of a batch through the ``email`` package's MIME
generator (header folding, RFC 2047 checks) and reads the answer with its ``FeedParser``:
at 10,000 exported events that is most of the client's CPU, more than the HTTP itself.
:class:`BatchRequest` is the library's :class:`BatchHttpRequest` (same retries, token refresh,
callbacks and errors) with only the encoding and decoding of the multipart body replaced by
string building that produces the same bytes.

The fast path takes only what it can write exactly as the library would (ASCII header values
on one line, a body without line breaks: googleapiclient's JSON always is), and reads only an
answer of the shape Google sends (CRLF headers in every part). Anything else goes through the
library's own code, so the codec can be faster but never different.
"""
import urllib.parse
import uuid
from email.parser import FeedParser

import httplib2
from googleapiclient import _auth
from googleapiclient.errors import BatchError, HttpError
from googleapiclient.http import BatchHttpRequest

_PART_HEADERS = ("Content-Type: application/http\nMIME-Version: 1.0\n"
                 "Content-Transfer-Encoding: binary\nContent-ID: {}\n\n")


class _NotPlain(Exception):
    """A request or answer the fast codec leaves to the library."""


def _plain(value):
    return isinstance(value, str) and value.isascii() and "\n" not in value \
        and "\r" not in value


class BatchRequest(BatchHttpRequest):
    """A :class:`BatchHttpRequest` whose multipart body is built and read without the
    ``email`` package (see the module docstring)."""

    def _serialize_plain(self, request):
        """The library's :meth:`_serialize_request`, for a request :func:`_plain` allows."""
        parsed = urllib.parse.urlparse(request.uri)
        target = urllib.parse.urlunparse(("", "", parsed.path, parsed.params, parsed.query, ""))
        content_type = request.headers.get("content-type", "application/json")
        headers = request.headers.copy()
        if request.http is not None:
            credentials = _auth.get_credentials_from_http(request.http)
            if credentials is not None:
                _auth.apply_credentials(credentials, headers)
        headers.pop("content-type", None)
        lines = [f"{request.method} {target} HTTP/1.1", f"Content-Type: {content_type}",
                 "MIME-Version: 1.0"]
        for key, value in headers.items():
            if not (_plain(key) and _plain(value)) or value != value.strip() or not value:
                raise _NotPlain(key)
            lines.append(f"{key}: {value}")
        lines.append(f"Host: {parsed.netloc}")
        body = request.body
        if body is not None:
            if not _plain(body) or body.startswith("From "):
                raise _NotPlain("body")
            lines.append(f"content-length: {len(body)}")
        return "\n".join(lines) + "\n\n" + (body or "")

    def _encode(self, order, requests):
        """(content type, body) of the batch, or None when a part needs the library."""
        boundary = "=" * 15 + str(uuid.uuid4().int)[:19] + "=="
        chunks = []
        try:
            for request_id in order:
                chunks.append(f"--{boundary}\n" + _PART_HEADERS.format(
                    self._id_to_header(request_id)) + self._serialize_plain(requests[request_id])
                    + "\n")
        except _NotPlain:
            return None
        chunks.append(f"--{boundary}--\n")
        return f'multipart/mixed; boundary="{boundary}"', "".join(chunks)

    def _execute(self, http, order, requests):
        encoded = self._encode(order, requests)
        if encoded is None:
            return super()._execute(http, order, requests)
        content_type, body = encoded
        resp, content = http.request(self._batch_uri, method="POST", body=body,
                                     headers={"content-type": content_type})
        if resp.status >= 300:
            raise HttpError(resp, content, uri=self._batch_uri)
        content = content.decode("utf-8")
        try:
            answers = self._decode_plain(resp["content-type"], content)
        except _NotPlain:
            answers = self._decode_with_email(resp, content)
        for request_id, payload in answers:
            response, part_content = self._deserialize_plain(payload)
            self._responses[request_id] = (response, part_content.encode("utf-8"))

    def _decode_with_email(self, resp, content):
        """The library's reading of a multipart answer: [(request id, part payload)]."""
        parser = FeedParser()
        parser.feed(f"content-type: {resp['content-type']}\r\n\r\n" + content)
        message = parser.close()
        if not message.is_multipart():
            raise BatchError("Response not in multipart/mixed format.", resp=resp,
                             content=content)
        return [(self._header_to_id(part["Content-ID"]), part.get_payload())
                for part in message.get_payload()]

    def _deserialize_plain(self, payload):
        """The library's :meth:`_deserialize_response` for CRLF-headed parts."""
        status_line, _, rest = payload.partition("\n")
        head, separator, content = rest.partition("\r\n\r\n")
        fields = {}
        if separator:
            for line in head.split("\r\n"):
                name, colon, value = line.partition(":")
                if not colon or not line or line[0] in " \t":
                    separator = ""
                    break
                fields[name.strip().lower()] = value.strip()
        if not separator:
            return self._deserialize_response(payload)
        protocol, status, reason = status_line.rstrip("\r").split(" ", 2)
        fields["status"] = status
        response = httplib2.Response(fields)
        response.reason = reason
        response.version = int(protocol.split("/", 1)[1].replace(".", ""))
        return response, content

    def _decode_plain(self, content_type, content):
        """[(request id, part payload)] of a multipart answer of the usual shape; raises
        :class:`_NotPlain` for anything else."""
        boundary = None
        for param in content_type.split(";")[1:]:
            name, _, value = param.strip().partition("=")
            if name.lower() == "boundary":
                boundary = value.strip().strip('"')
        if not boundary or not content_type.lower().startswith("multipart/"):
            raise _NotPlain("content type")
        delimiter = "--" + boundary
        pieces = content.split(delimiter)
        if len(pieces) < 3 or not pieces[-1].startswith("--"):
            raise _NotPlain("no closing boundary")
        answers = []
        for piece in pieces[1:-1]:
            if piece.startswith("\r\n"):
                piece = piece[2:]
            elif piece.startswith("\n"):
                piece = piece[1:]
            else:
                raise _NotPlain("boundary not on its own line")
            # The line break before the next delimiter belongs to the delimiter.
            if piece.endswith("\r\n"):
                piece = piece[:-2]
            elif piece.endswith("\n"):
                piece = piece[:-1]
            head, separator, payload = piece.partition("\r\n\r\n")
            if not separator:
                raise _NotPlain("part headers")
            content_id = None
            for line in head.split("\r\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-id":
                    content_id = value.strip()
            if not content_id:
                raise _NotPlain("Content-ID")
            answers.append((self._header_to_id(content_id), payload))
        return answers
