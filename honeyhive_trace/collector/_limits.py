"""What keeps the collector answering under abuse: a deadline per request, shed load.

* :class:`DeadlineReader` reads a connection so that each request (its line, headers
  and body) must arrive within one deadline from its first byte: a client dripping a
  byte a second is cut off, where a per-``recv`` timeout would wait for it forever.
* :func:`shed` answers a connection beyond the limit with ``503`` and ``Retry-After``.
* :class:`FdReserve` keeps one file descriptor in hand, so that when the process runs
  out of them a waiting client still gets its 503 instead of hanging in the backlog.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import socket
import socketserver
import threading
import time
from typing import Any

logger = logging.getLogger("honeyhive_trace.collector")

__all__ = ["RETRY_AFTER_S", "DeadlineReader", "FdReserve", "LoadShedding", "shed"]

#: What a shed client is told to wait, in seconds.
RETRY_AFTER_S = 1

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/json\r\n"
    b"Cache-Control: no-store\r\n"
    b"Retry-After: %d\r\n"
    b"Connection: close\r\n"
    b"Content-Length: %d\r\n\r\n%s"
)
_BUSY_BODY = (
    b'{"success":false,"errors":[{"field":"","message":"too many connections; retry later"}]}'
)
BUSY = _BUSY % (RETRY_AFTER_S, len(_BUSY_BODY), _BUSY_BODY)


class DeadlineReader(io.RawIOBase):
    """A connection's reads, bounded per request by one deadline from its first byte.

    Waiting for a request to start (an idle keep-alive connection) is bounded by
    *timeout* too, as by a plain socket timeout. Call :meth:`next_request` before
    reading each request.
    """

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        super().__init__()
        self._sock = sock
        self._timeout = timeout
        self._deadline: float | None = None

    def next_request(self) -> None:
        """Start the clock again at the first byte of the next request."""
        self._deadline = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._deadline is None:
            self._sock.settimeout(self._timeout)
        else:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("request not received in time")
            self._sock.settimeout(left)
        n = self._sock.recv_into(buffer)
        if n and self._deadline is None:
            self._deadline = time.monotonic() + self._timeout
        return n


def shed(conn: socket.socket, wait: float = 0.0) -> None:
    """Answer 503 with ``Retry-After`` and close; never raises.

    Args:
        conn: the connection.
        wait: seconds to wait for the request's head first (read and discarded,
            so that closing does not reset the connection before the client
            reads the answer); 0 takes only what has arrived, never blocking.
    """
    try:
        conn.settimeout(wait if wait > 0 else 0.0)
        head = b""
        try:
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                head += chunk
        except OSError:  # nothing more in time
            pass
        conn.settimeout(1.0)
        conn.sendall(BUSY)
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        conn.close()


class FdReserve:
    """One spare file descriptor, given up to answer a client when none are left."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self.take()

    def take(self) -> None:
        """Hold a descriptor again (after :meth:`release`), if one is free."""
        if self._fd is None:
            try:
                self._fd = os.open(os.devnull, os.O_RDONLY)
            except OSError:
                self._fd = None

    def release(self) -> bool:
        """Free the spare descriptor; False when there was none."""
        if self._fd is None:
            return False
        os.close(self._fd)
        self._fd = None
        return True

    def close(self) -> None:
        """Free the descriptor for good."""
        self.release()


class LoadShedding(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """A threading TCP server's base: at most N connections at a time.

    A connection beyond the limit is answered 503 with ``Retry-After`` (by one of a
    few short-lived threads, else at once), and when the process runs out of file
    descriptors the server sheds the oldest waiting client and stops accepting for
    100 ms (the owner's loop honours :attr:`paused_until`) instead of spinning.
    """

    #: Connections beyond the limit answered 503 by a thread of their own at once.
    shedders = 16

    def limit_connections(self, max_connections: int) -> None:
        """Allow *max_connections* at a time; call before serving."""
        self._slots = threading.BoundedSemaphore(max_connections)
        self._shed_slots = threading.BoundedSemaphore(self.shedders)
        self._reserve = FdReserve()
        self.paused_until = 0.0

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection; when no file descriptor is left, shed one and pause."""
        try:
            return super().get_request()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                self._out_of_descriptors()
            raise

    def _out_of_descriptors(self) -> None:
        self.paused_until = time.monotonic() + 0.1
        logger.warning("out of file descriptors: answering 503 until connections close")
        if self._reserve.release():
            try:
                conn, _ = self.socket.accept()
            except OSError:
                pass
            else:
                shed(conn)  # the oldest waiting client learns to retry, instead of hanging
            finally:
                self._reserve.take()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a thread of its own, or answer 503 beyond the limit."""
        if not self._slots.acquire(blocking=False):
            logger.debug("too many connections: 503 to %s", client_address)
            if self._shed_slots.acquire(blocking=False):
                threading.Thread(target=self._shed, args=(request,), daemon=True).start()
            else:
                shed(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def _shed(self, conn: socket.socket) -> None:
        try:
            shed(conn, wait=1.0)
        finally:
            self._shed_slots.release()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve one connection, then free its slot."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def close_reserve(self) -> None:
        """Give the spare descriptor back (the server stopped)."""
        self._reserve.close()
