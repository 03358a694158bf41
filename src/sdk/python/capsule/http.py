"""A small synchronous HTTP client for tasks: ``capsule.http.get(url)``, ``post(url, json_data=...)``, ...

It is built on ``urllib.request`` in every environment. Run natively, that is plain urllib; inside Capsule's
sandbox the runner installs urllib's global opener over the host's ``wasi:http`` import, so every request is
checked against the task's ``allowed_hosts`` (a refused one raises :class:`RequestDenied`). Redirects are
followed as urllib follows them; error statuses (4xx, 5xx) are returned as responses, not raised.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from email.message import Message
from typing import Any, Protocol

from ._runtime import RequestDenied

__all__ = ["Response", "RequestDenied", "request", "get", "post", "put", "delete", "patch", "head"]

Params = Mapping[str, Any] | Sequence[tuple[str, Any]]
Data = bytes | bytearray | str | Mapping[str, Any] | Sequence[tuple[str, Any]]


class Response:
    """A complete response: the body has been read in full."""

    def __init__(self, status_code: int, headers: Message, content: bytes, url: str) -> None:
        self.status_code = status_code
        #: Header names in lower case; repeated headers are joined with ", ".
        self.headers: dict[str, str] = {}
        for name, value in headers.items():
            key = name.lower()
            self.headers[key] = f"{self.headers[key]}, {value}" if key in self.headers else value
        self.content = content
        self.url = url
        self.encoding = headers.get_content_charset() or "utf-8"

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding, errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def raise_for_status(self) -> None:
        if not self.ok():
            reason = f"HTTP {self.status_code} from {self.url}"
            raise urllib.error.HTTPError(self.url, self.status_code, reason, _message(self.headers), None)

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


def _message(headers: Mapping[str, str]) -> Message:
    message = Message()
    for name, value in headers.items():
        message[name] = value
    return message


def request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    json_data: Any = None,
    data: Data | None = None,
    params: Params | None = None,
) -> Response:
    """Send one request and return the whole response. ``json_data`` and ``data`` are mutually exclusive."""
    if json_data is not None and data is not None:
        raise ValueError("pass either json_data or data, not both")
    if params:
        query = urllib.parse.urlencode(params, doseq=True)
        url = f"{url}{'&' if urllib.parse.urlsplit(url).query else '?'}{query}"
    sent_headers = dict(headers or {})
    body: bytes | None = None
    if json_data is not None:
        body = json.dumps(json_data).encode()
        if not any(name.lower() == "content-type" for name in sent_headers):
            sent_headers["Content-Type"] = "application/json"
    elif isinstance(data, (bytes, bytearray)):
        body = bytes(data)
    elif isinstance(data, str):
        body = data.encode()
    elif data is not None:
        # A mapping or pairs: a form, as urllib would send it (urllib adds the form content type).
        body = urllib.parse.urlencode(data, doseq=True).encode()
    req = urllib.request.Request(url, data=body, headers=sent_headers, method=method.upper())
    try:
        with urllib.request.urlopen(req) as response:
            return Response(response.status, response.headers, response.read(), response.geturl())
    except urllib.error.HTTPError as error:
        with error:
            return Response(error.code, error.headers, error.read(), error.geturl())


class _Method(Protocol):
    """The signature every verb shares: ``get(url, headers=..., json_data=..., data=..., params=...)``."""

    def __call__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_data: Any = None,
        data: Data | None = None,
        params: Params | None = None,
    ) -> Response: ...


def _method(verb: str) -> _Method:
    # One definition for the six verbs: they differ only in the method they send.
    def send(
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_data: Any = None,
        data: Data | None = None,
        params: Params | None = None,
    ) -> Response:
        return request(verb, url, headers=headers, json_data=json_data, data=data, params=params)

    send.__name__ = send.__qualname__ = verb.lower()
    send.__doc__ = f"Sends a {verb} request and returns the complete response (see :func:`request`)."
    return send


get = _method("GET")
post = _method("POST")
put = _method("PUT")
delete = _method("DELETE")
patch = _method("PATCH")
head = _method("HEAD")
