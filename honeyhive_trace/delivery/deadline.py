"""A total deadline for each request, which ``requests`` does not have.

``requests`` bounds the connection and each read of the socket, not the
request: a server answering one byte a second holds a request for as long as
it likes. :class:`Watchdog` is a thread that shuts the socket of a request
down once its deadline has passed; the request then fails like a dropped
connection (retried within the budget, else spooled). The sessions of
:func:`watched_session` hand the watchdog each connection as a request takes
it from the pool (:class:`_HTTPPool`, :class:`_HTTPSPool`).
"""

from __future__ import annotations

import math
import socket
import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["Watchdog", "watched_session"]

#: Seconds between looks at a connection that had no socket yet when its deadline passed.
_POLL = 0.02

# The watchdog of the request under way on each thread (set by Watchdog.arm).
_current = threading.local()


class Watchdog:
    """Shuts down the socket of the request under way once its deadline passed.

    One request at a time (the transport sends one at a time). The thread
    starts with the first request, and again in a forked child.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._deadline: float | None = None
        #: The deadline the thread sleeps until (inf: until told); an earlier
        #: new one wakes it, a later one waits for it to wake (one wake-up less
        #: per request, each of which takes the GIL).
        self._sleeping_until = math.inf
        self._conn: Any = None
        #: True when the last request was ended by its deadline.
        self.fired = False
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float) -> None:
        """Watch the request this thread starts now, until *deadline* (monotonic)."""
        _current.watchdog = self
        with self._cond:
            self._deadline, self._conn, self.fired = deadline, None, False
            thread = self._thread
            if thread is None or not thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="honeyhive-trace-deadline", daemon=True
                )
                self._thread.start()
            if deadline < self._sleeping_until:
                self._cond.notify()

    def watch(self, conn: Any) -> None:
        """The connection the armed request took from its pool."""
        with self._cond:
            if self._deadline is not None:
                self._conn = conn

    def disarm(self) -> None:
        """The request ended: its connection is left alone from now on."""
        _current.watchdog = None
        with self._cond:  # no notify: the thread finds nothing to do at the old deadline
            self._deadline = self._conn = None

    def _run(self) -> None:
        with self._cond:
            while True:
                deadline = self._deadline
                if deadline is None:
                    self._sleeping_until = math.inf
                    self._cond.wait()
                    continue
                left = deadline - time.monotonic()
                if left > 0:
                    self._sleeping_until = deadline
                    self._cond.wait(left)
                    continue
                self._sleeping_until = -math.inf  # awake
                sock = getattr(self._conn, "sock", None)
                if sock is None:  # still connecting (connect_timeout bounds that)
                    self._cond.wait(_POLL)
                    continue
                # Set before the cut: whoever sees the stream end sees why.
                self.fired = True
                try:
                    # The plain socket's shutdown, also under TLS: the reading thread
                    # sees the end of the stream and fails; nothing else is touched.
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass
                self._deadline = self._conn = None


def _watch(conn: Any) -> None:
    watchdog: Watchdog | None = getattr(_current, "watchdog", None)
    if watchdog is not None:
        watchdog.watch(conn)


class _HTTPPool(HTTPConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        _watch(conn)
        return conn


class _HTTPSPool(HTTPSConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        _watch(conn)
        return conn


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS has pools of its own
            manager.pool_classes_by_scheme = _POOLS
        return manager


def watched_session() -> requests.Session:
    """A ``requests.Session`` whose connections a :class:`Watchdog` can end."""
    session = requests.Session()
    session.mount("http://", _WatchedAdapter())
    session.mount("https://", _WatchedAdapter())
    return session
