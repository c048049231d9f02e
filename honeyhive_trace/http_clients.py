"""Outgoing trace headers: calls to your own services carry the trace, others never do.

:func:`instrument_http` makes every ``requests`` and ``httpx`` call to an
allow-listed host carry :func:`~honeyhive_trace.propagation_headers`, so the
service behind it (with :mod:`honeyhive_trace.middleware`, or
:func:`~honeyhive_trace.continue_trace`) records its events under the caller's.
The headers are added on the wire, hop by hop: to each request as it is sent by
``requests``' ``HTTPAdapter`` or ``httpx``'s ``HTTPTransport`` and
``AsyncHTTPTransport`` (the default transports and their subclasses), checked
again on every redirect, and never kept on the caller's request object.
:func:`uninstrument_http` undoes it.

To do it for one session or client only: :func:`propagating_adapter` (mount it
on a ``requests.Session``) and :func:`httpx_event_hooks` (pass them to an
``httpx.Client`` or ``AsyncClient``).

Allow-list entries are host names or IP addresses, optionally with a port:
``"api.internal"`` (any port), ``"127.0.0.1:8001"`` (that port only; a URL
without a port has its scheme's, 80 or 443), ``"[::1]:8001"``, and
``"*.svc.cluster.local"`` (any subdomain, not the domain itself). Names are
compared without case and give no other match: no prefix, no suffix, no
resolution. Headers the caller set (``traceparent``, ``baggage``) are never
replaced. Neither ``requests`` nor ``httpx`` is imported until asked for.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from honeyhive_trace.capture import propagation_headers, report_failure
from honeyhive_trace.exceptions import ConfigurationError

if TYPE_CHECKING:
    import httpx
    import requests.adapters

__all__ = ["instrument_http", "httpx_event_hooks", "propagating_adapter", "uninstrument_http"]

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
#: Where a hook notes the headers it added, so a redirect elsewhere drops them.
_INJECTED = "honeyhive_trace.injected"
#: ``instrument_http``'s allow-list for each patched client ("requests", "httpx").
_ACTIVE: dict[str, _AllowList] = {}
#: (class, attribute, original, replacement) of each method patched, by client.
_PATCHED: dict[str, list[tuple[type, str, Any, Any]]] = {}
_LOCK = threading.Lock()


def _report(site: str, exc: BaseException | None = None) -> None:
    report_failure(f"http_clients: {site}", exc)


def _entry(text: Any) -> tuple[str, int | None]:
    """One allow-list entry as (host, port or None), or ConfigurationError."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigurationError("hosts", f"expected host names, got {text!r}")
    entry = text.strip().lower()
    if "/" in entry or "@" in entry or "?" in entry or "#" in entry:
        raise ConfigurationError("hosts", f"{text!r}: give a host[:port], not a URL")
    host, port = entry, ""
    if entry.startswith("["):  # [IPv6] or [IPv6]:port
        host, _, rest = entry[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ConfigurationError("hosts", f"{text!r} is not a host[:port]")
        port = rest[1:]
    elif entry.count(":") == 1:
        host, _, port = entry.partition(":")
    host = host.rstrip(".")
    if not host or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ConfigurationError("hosts", f"{text!r} is not a host[:port]")
    return host, int(port) if port else None


class _AllowList:
    """The hosts (and ports) that may receive the trace headers."""

    __slots__ = ("_exact", "_suffixes")

    def __init__(self, hosts: Iterable[str] | str) -> None:
        entries = [hosts] if isinstance(hosts, str) else list(hosts)
        self._exact: set[tuple[str, int | None]] = set()
        self._suffixes: set[tuple[str, int | None]] = set()
        for text in entries:
            host, port = _entry(text)
            if host.startswith("*."):
                self._suffixes.add((host[1:], port))
            elif "*" in host:
                raise ConfigurationError("hosts", f"{text!r}: only a leading '*.' is allowed")
            else:
                self._exact.add((host, port))

    def allows(self, url: str) -> bool:
        """True if *url*'s host and port are on the list."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").rstrip(".")
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
        except ValueError:  # a port that is not a number
            return False
        if not host:
            return False
        if (host, None) in self._exact or (host, port) in self._exact:
            return True
        return any(
            host.endswith(suffix) and entry_port in (None, port)
            for suffix, entry_port in self._suffixes
        )


def _wanted(allow: _AllowList | None, url: Any, present: Callable[[str], bool]) -> dict[str, str]:
    """The trace headers to add to a request for *url*: none if the host is not allowed."""
    if allow is None:
        return {}
    try:
        if not allow.allows(str(url)):
            return {}
        return {k: v for k, v in propagation_headers().items() if not present(k)}
    except Exception as exc:
        _report("could not add the trace headers", exc)
        return {}


# -- requests -----------------------------------------------------------------


def _requests_send(allow: _AllowList | None, send: Any, request: Any, *a: Any, **kw: Any) -> Any:
    """Send *request* with the trace headers added for the wire only."""
    headers = request.headers
    added = _wanted(allow, request.url, headers.__contains__)
    if not added:
        return send(request, *a, **kw)
    request.headers = headers.copy()
    request.headers.update(added)
    try:
        return send(request, *a, **kw)
    finally:  # the caller's request (and a redirect built from it) keep their own headers
        request.headers = headers


@functools.cache
def _adapter_class() -> type[requests.adapters.HTTPAdapter]:
    from requests.adapters import HTTPAdapter

    class PropagatingAdapter(HTTPAdapter):
        """An ``HTTPAdapter`` that adds the trace headers for its allow-listed hosts."""

        _hh_allow: _AllowList

        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            return _requests_send(self._hh_allow, super().send, request, *args, **kwargs)

    return PropagatingAdapter


def propagating_adapter(
    hosts: Iterable[str] | str, **kwargs: Any
) -> requests.adapters.HTTPAdapter:
    """A ``requests`` transport adapter that adds the trace headers for *hosts*.

    ``session.mount("https://", propagating_adapter(["api.internal"]))``: each
    request that session sends through it to an allowed host carries
    :func:`~honeyhive_trace.propagation_headers` (headers already set are
    kept); any other host gets none.

    Args:
        hosts: the allow-list (see the module's documentation).
        **kwargs: ``HTTPAdapter`` arguments (``max_retries``, ``pool_maxsize``, ...).

    Returns:
        An ``HTTPAdapter`` subclass instance.

    Raises:
        ConfigurationError: an entry of *hosts* is not a host[:port].
    """
    allow = _AllowList(hosts)
    adapter = _adapter_class()(**kwargs)
    adapter._hh_allow = allow  # type: ignore[attr-defined]
    return adapter


# -- httpx --------------------------------------------------------------------


def _tag_and_add(allow: _AllowList, request: httpx.Request) -> None:
    """Add the headers to one hop; drop those an earlier hop added if this host is not allowed."""
    try:
        earlier = request.extensions.pop(_INJECTED, None) or {}
        for name, value in earlier.items():
            if request.headers.get(name) == value:
                del request.headers[name]
    except Exception as exc:
        _report("could not remove the trace headers from a redirect", exc)
    added = _wanted(allow, request.url, request.headers.__contains__)
    if added:
        request.headers.update(added)
        request.extensions[_INJECTED] = added


def httpx_event_hooks(
    hosts: Iterable[str] | str, *, asynchronous: bool = False
) -> dict[str, list[Callable[[httpx.Request], Any]]]:
    """``httpx`` event hooks that add the trace headers for *hosts*.

    ``httpx.Client(event_hooks=httpx_event_hooks(["api.internal"]))``, or
    ``httpx.AsyncClient(event_hooks=httpx_event_hooks([...], asynchronous=True))``.
    The hook runs for every hop: a redirect to a host off the list loses the
    headers the hook added (headers the caller set are never touched).

    Args:
        hosts: the allow-list (see the module's documentation).
        asynchronous: give an ``async`` hook, as ``AsyncClient`` requires.

    Returns:
        ``{"request": [hook]}``, to pass as ``event_hooks`` (or merge into yours).

    Raises:
        ConfigurationError: an entry of *hosts* is not a host[:port].
    """
    allow = _AllowList(hosts)

    def add_trace_headers(request: httpx.Request) -> None:
        _tag_and_add(allow, request)

    async def add_trace_headers_async(request: httpx.Request) -> None:
        _tag_and_add(allow, request)

    return {"request": [add_trace_headers_async if asynchronous else add_trace_headers]}


def _httpx_swap(request: Any) -> tuple[Any, dict[str, str]]:
    headers = request.headers
    added = _wanted(_ACTIVE.get("httpx"), request.url, headers.__contains__)
    if added:
        request.headers = headers.copy()
        request.headers.update(added)
    return headers, added


# -- instrument_http ----------------------------------------------------------


def _patch(client: str) -> bool:
    """Patch *client*'s send methods (once); False if the package is not installed."""
    if client in _PATCHED:
        return True
    if client == "requests":
        from requests.adapters import HTTPAdapter

        original = HTTPAdapter.send

        @functools.wraps(original)
        def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            bound = functools.partial(original, self)
            return _requests_send(_ACTIVE.get("requests"), bound, request, *args, **kwargs)

        HTTPAdapter.send = send  # type: ignore[method-assign]
        _PATCHED[client] = [(HTTPAdapter, "send", original, send)]
        return True
    try:
        import httpx
    except ImportError:
        return False
    sync_original = httpx.HTTPTransport.handle_request
    async_original = httpx.AsyncHTTPTransport.handle_async_request

    @functools.wraps(sync_original)
    def handle_request(self: Any, request: Any) -> Any:
        headers, added = _httpx_swap(request)
        try:
            return sync_original(self, request)
        finally:
            if added:
                request.headers = headers

    @functools.wraps(async_original)
    async def handle_async_request(self: Any, request: Any) -> Any:
        headers, added = _httpx_swap(request)
        try:
            return await async_original(self, request)
        finally:
            if added:
                request.headers = headers

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]
    _PATCHED[client] = [
        (httpx.HTTPTransport, "handle_request", sync_original, handle_request),
        (httpx.AsyncHTTPTransport, "handle_async_request", async_original, handle_async_request),
    ]
    return True


def _unpatch(client: str) -> None:
    _ACTIVE.pop(client, None)
    for cls, name, original, replacement in _PATCHED.pop(client, ()):
        # Patched again on top of ours: leave it; ours adds nothing once inactive.
        if cls.__dict__.get(name) is replacement:
            setattr(cls, name, original)


def instrument_http(
    hosts: Iterable[str] | str, *, requests: bool = True, httpx: bool = True
) -> None:
    """Add the trace headers to every ``requests`` and ``httpx`` call to *hosts*.

    Patches ``requests.adapters.HTTPAdapter.send`` and
    ``httpx.HTTPTransport.handle_request`` /
    ``httpx.AsyncHTTPTransport.handle_async_request`` for the whole process,
    so that a request to an allowed host (and port) carries
    :func:`~honeyhive_trace.propagation_headers` when sent inside an event or
    session. Other hosts never get them, redirects included; headers the
    caller set are kept. Calling it again replaces the allow-list (and
    unpatches a client now turned off); :func:`uninstrument_http` undoes it.

    Args:
        hosts: the allow-list: ``"host"``, ``"host:port"``, ``"[::1]:8001"``,
            ``"*.internal"`` (see the module's documentation). A single string
            is one host.
        requests: patch ``requests``.
        httpx: patch ``httpx``, if it is installed (it is not imported otherwise).

    Raises:
        ConfigurationError: an entry of *hosts* is not a host[:port].
    """
    allow = _AllowList(hosts)
    with _LOCK:
        for client, wanted in (("requests", requests), ("httpx", httpx)):
            if wanted and _patch(client):
                _ACTIVE[client] = allow
            else:
                _unpatch(client)


def uninstrument_http() -> None:
    """Undo :func:`instrument_http`: the patched methods are restored, no header is added."""
    with _LOCK:
        for client in list(_PATCHED):
            _unpatch(client)
