"""HTTP in the sandbox: a small synchronous client over the host's ``wasi:http/outgoing-handler`` import.

Every request (``capsule.http``, ``urllib.request``, sub-task calls) is one ``handle`` call; the host's egress
checks it (``allowed_hosts``, the addresses the name resolves to, secrets, every redirect hop) before anything
leaves the machine. A refused one comes back as the ``HTTP-request-denied`` error code and is raised as
:class:`capsule.RequestDenied`. Redirects are followed by the host; time limits are the host's.
The guest has no event loop (asyncio needs sockets), so the client blocks on each step: the host performs the
request while the guest waits on the response's pollable.
"""

from __future__ import annotations

import http
import http.client
import io
import urllib.error
import urllib.parse
import urllib.request
import urllib.response
from typing import Any, Optional

from capsule._runtime import Headers, RawResponse, RequestDenied
from componentize_py_types import Err, Ok
from wit_world.imports import outgoing_handler, streams
from wit_world.imports import types as wasi

#: blocking-write-and-flush takes at most 4096 bytes per call (wasi:io/streams).
_WRITE_CHUNK = 4096
_READ_CHUNK = 64 * 1024
#: Connection-level headers: the host's HTTP client sets them, and wasi:http forbids them in a request. A body is
#: always sent whole, with a Content-Length, so a Transfer-Encoding from urllib would be wrong.
_HOST_MANAGED_HEADERS = frozenset(
    {"host", "connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}
)

_METHODS: dict[str, Any] = {
    "GET": wasi.Method_Get(),
    "HEAD": wasi.Method_Head(),
    "POST": wasi.Method_Post(),
    "PUT": wasi.Method_Put(),
    "DELETE": wasi.Method_Delete(),
    "CONNECT": wasi.Method_Connect(),
    "OPTIONS": wasi.Method_Options(),
    "TRACE": wasi.Method_Trace(),
    "PATCH": wasi.Method_Patch(),
}


def _error_name(code: Any) -> str:
    """ErrorCode_ConnectionRefused -> "connection refused" (with the payload, if the variant has one)."""
    name = type(code).__name__.removeprefix("ErrorCode_")
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()
    value = getattr(code, "value", None)
    return f"{words}: {value}" if value is not None else words


def _transport_error(url: str, code: Any) -> OSError:
    message = f"HTTP request to {url} failed: {_error_name(code)}"
    if isinstance(code, wasi.ErrorCode_ConnectionRefused):
        return ConnectionRefusedError(message)
    if isinstance(
        code,
        (
            wasi.ErrorCode_ConnectionTimeout,
            wasi.ErrorCode_ConnectionReadTimeout,
            wasi.ErrorCode_ConnectionWriteTimeout,
            wasi.ErrorCode_HttpResponseTimeout,
            wasi.ErrorCode_DnsTimeout,
        ),
    ):
        return TimeoutError(message)
    return ConnectionError(message)


class WasiHttpTransport:
    """``capsule._runtime.Transport`` over wasi:http: one request, the whole response."""

    def send(self, method: str, url: str, headers: Headers, body: Optional[bytes]) -> RawResponse:
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"unsupported URL scheme {scheme!r} (http and https only): {url}")
        # Credentials in the URL stay in the guest: the host sees (and checks) the host and port only.
        authority = parts.netloc.rpartition("@")[2]
        if not authority:
            raise ValueError(f"URL has no host: {url}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

        entries = [
            (name, value.encode("latin-1")) for name, value in headers if name.lower() not in _HOST_MANAGED_HEADERS
        ]
        if body is not None and not any(name.lower() == "content-length" for name, _ in entries):
            # A known length rather than a chunked upload: not every server accepts chunked request bodies.
            entries.append(("content-length", str(len(body)).encode()))
        try:
            fields = wasi.Fields.from_list(entries)
        except Err as error:
            raise ValueError(
                f"invalid HTTP header for {url}: {type(error.value).__name__.removeprefix('HeaderError_')}"
            ) from None
        request = wasi.OutgoingRequest(fields)
        request.set_method(_METHODS.get(method.upper()) or wasi.Method_Other(method.upper()))
        request.set_scheme(wasi.Scheme_Https() if scheme == "https" else wasi.Scheme_Http())
        request.set_authority(authority)
        request.set_path_with_query(path)
        outgoing_body = request.body() if body is not None else None

        try:
            future = outgoing_handler.handle(request, None)
        except Err as error:
            if outgoing_body is not None:
                outgoing_body.__exit__(None, None, None)
            if isinstance(error.value, wasi.ErrorCode_HttpRequestDenied):
                raise RequestDenied(url, authority) from None
            raise _transport_error(url, error.value) from None

        with future:
            if outgoing_body is not None and body is not None:
                self._write_body(outgoing_body, body)
            with future.subscribe() as pollable:
                pollable.block()
            outcome = future.get()
            if outcome is None or not isinstance(outcome, Ok):
                raise ConnectionError(f"HTTP request to {url} failed: the response was not delivered")
            if not isinstance(outcome.value, Ok):
                # The host's egress refuses after looking closer (a private address, a redirect, a secret sent
                # where it may not go): the same denial as a refusal up front.
                if isinstance(outcome.value.value, wasi.ErrorCode_HttpRequestDenied):
                    raise RequestDenied(url, authority) from None
                raise _transport_error(url, outcome.value.value)
            with outcome.value.value as response:
                return self._read_response(url, response)

    @staticmethod
    def _write_body(outgoing_body: wasi.OutgoingBody, body: bytes) -> None:
        with outgoing_body.write() as stream:
            view = memoryview(body)
            for start in range(0, len(view), _WRITE_CHUNK):
                stream.blocking_write_and_flush(bytes(view[start : start + _WRITE_CHUNK]))
        wasi.OutgoingBody.finish(outgoing_body, None)

    @staticmethod
    def _read_response(url: str, response: wasi.IncomingResponse) -> RawResponse:
        status = response.status()
        with response.headers() as fields:
            headers = [(name, value.decode("latin-1")) for name, value in fields.entries()]
        chunks: list[bytes] = []
        with response.consume() as incoming_body:
            with incoming_body.stream() as stream:
                while True:
                    try:
                        chunks.append(stream.blocking_read(_READ_CHUNK))
                    except Err as error:
                        if isinstance(error.value, streams.StreamError_Closed):
                            break
                        raise ConnectionError(f"reading the response from {url} failed") from None
        return RawResponse(status, headers, b"".join(chunks))


class _Response(urllib.response.addinfourl):
    """What urlopen() returns natively is an ``http.client.HTTPResponse``; this offers the same reading API."""

    def __init__(self, raw: RawResponse, url: str) -> None:
        message = http.client.HTTPMessage()
        for name, value in raw.headers:
            message[name] = value
        super().__init__(io.BytesIO(raw.body), message, url, raw.status)
        try:
            self.reason = http.HTTPStatus(raw.status).phrase
        except ValueError:
            self.reason = ""
        # urllib's handlers read the reason phrase from `msg` (AbstractHTTPHandler.do_open sets it so).
        self.msg = self.reason

    def getheader(self, name: str, default: Optional[str] = None) -> Optional[str]:
        values = self.headers.get_all(name)
        return ", ".join(values) if values else default

    def getheaders(self) -> list[tuple[str, str]]:
        return list(self.headers.items())


def _body_bytes(data: Any) -> Optional[bytes]:
    if data is None:
        return None
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if hasattr(data, "read"):
        return bytes(data.read())
    return b"".join(bytes(chunk) for chunk in data)


class SandboxHTTPHandler(urllib.request.HTTPHandler):
    """Serves http: and https: URLs for urllib through the transport. Subclassing HTTPHandler makes
    ``build_opener`` use it instead of the native one (the CPython build has no ssl, so no HTTPSHandler)."""

    def __init__(self, transport: WasiHttpTransport) -> None:
        super().__init__()
        self._transport = transport

    https_request = urllib.request.AbstractHTTPHandler.do_request_

    # urllib only reads what _Response offers; typeshed names the native class as the return type.
    def http_open(self, req: urllib.request.Request) -> _Response:  # type: ignore[override]
        return self._open(req)

    def https_open(self, req: urllib.request.Request) -> _Response:
        return self._open(req)

    def _open(self, req: urllib.request.Request) -> _Response:
        # As AbstractHTTPHandler.do_open merges them: unredirected headers (Host, Content-Length) win.
        headers = dict(req.unredirected_hdrs)
        headers.update({name: value for name, value in req.headers.items() if name not in headers})
        try:
            raw = self._transport.send(req.get_method(), req.full_url, list(headers.items()), _body_bytes(req.data))
        except RequestDenied:
            raise
        except OSError as error:
            raise urllib.error.URLError(error) from None
        return _Response(raw, req.full_url)


def opener(transport: WasiHttpTransport) -> urllib.request.OpenerDirector:
    """urllib's default opener minus what cannot work here: no proxies (the host decides where requests go), no
    file: or ftp: URLs."""
    director = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.UnknownHandler(),
        SandboxHTTPHandler(transport),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.DataHandler(),
    ):
        director.add_handler(handler)
    return director


def install() -> WasiHttpTransport:
    """Makes urllib.request.urlopen (and so capsule.http) use the host; returns the transport for the SDK."""
    transport = WasiHttpTransport()
    urllib.request.install_opener(opener(transport))
    return transport
