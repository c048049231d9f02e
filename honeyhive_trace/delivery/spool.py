"""The on-disk spool: events that could not be delivered yet, and dead letters.

Layout, under the configured spool directory::

    <spool_dir>/<destination>/pending-<pid>-<time_ns>-<n>.jsonl      waiting
    <spool_dir>/<destination>/claimed-<pid>-<...>.jsonl              being replayed by <pid>
    <spool_dir>/<destination>/dead-letter.jsonl                      refused by the server

``<destination>`` is a hash of the server URL and API key, so events are only
ever replayed to the server (and with the key) they were meant for. Each file
is written, flushed and fsynced before it is renamed to its final name, so a
crash leaves either a whole file or none. Files are deleted only after the
server acknowledged every event in them.

Each line is one item: ``{"kind": ..., "id": ..., "after": ..., "data": {...}}``
(see :class:`~.protocol.Prepared`), with ``"enc": "v1"`` when the data is
written for HoneyHive's v1 API (no ``enc``: the legacy API); a line that is a
bare event (written by version one) is a legacy model event. Items keep the
version they were written for: a legacy item read while ``v1`` is configured is
turned into v1 (:meth:`.Codec.adopt`), a v1 item goes to the v1 routes.

Files are replayed in the order of their names (oldest first), and what a
replay could not send is put back under the same name, so items keep their
order across outages: a session's start before its events, an event before its
updates.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from honeyhive_trace._wire import encode
from honeyhive_trace.delivery.codec import CODECS, LEGACY, Codec
from honeyhive_trace.delivery.protocol import Prepared

__all__ = ["Spool"]

logger = logging.getLogger("honeyhive_trace")

_PENDING = "pending-"
_CLAIMED = "claimed-"
DEAD_LETTER = "dead-letter.jsonl"


def destination_key(server_url: str, api_key: str | None) -> str:
    """A short, non-reversible name for a (server, key) pair."""
    digest = hashlib.sha256(f"{server_url}\n{api_key or ''}".encode()).hexdigest()
    return digest[:16]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Spool:
    """Durable storage for undelivered events of one destination."""

    def __init__(
        self, root: Path, destination: str, max_bytes: int, codec: Codec = LEGACY
    ) -> None:
        self.directory = root / destination
        self.max_bytes = max_bytes
        #: The configured API version: what replayed items are sent in.
        self.codec = codec
        self._lock = threading.Lock()
        self._counter = itertools.count()

    def __repr__(self) -> str:
        return f"<Spool {self.directory}>"

    def after_fork(self) -> None:
        """In a forked child: a new lock (another thread may have held the old one)."""
        self._lock = threading.Lock()

    def _ensure_dir(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def size(self) -> int:
        """Bytes held by pending and claimed files."""
        total = 0
        try:
            for entry in os.scandir(self.directory):
                if entry.name.startswith((_PENDING, _CLAIMED)):
                    try:
                        total += entry.stat().st_size
                    except FileNotFoundError:
                        continue
        except FileNotFoundError:
            return 0
        return total

    def write(self, events: list[Prepared]) -> tuple[int, int]:
        """Store *events* durably.

        Returns:
            (spooled, dropped): how many were written, and how many were not
            because the spool is at its size cap.
        """
        if not events:
            return 0, 0
        lines = [_line(e) for e in events]
        with self._lock:
            self._ensure_dir()
            room = self.max_bytes - self.size()
            kept: list[bytes] = []
            for line in lines:
                if len(line) > room:
                    break
                kept.append(line)
                room -= len(line)
            if kept:
                self._write_file(kept)
        dropped = len(lines) - len(kept)
        if dropped:
            logger.error(
                "honeyhive_trace: spool %s is full (cap %d bytes); dropped %d event(s)",
                self.directory,
                self.max_bytes,
                dropped,
            )
        return len(kept), dropped

    def _write_file(self, lines: list[bytes], name: str | None = None) -> None:
        if name is None:
            name = f"{_PENDING}{os.getpid()}-{time.time_ns()}-{next(self._counter)}.jsonl"
        final = self.directory / name
        partial = self.directory / f".{name}.part"
        with open(partial, "wb") as handle:
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)
        _fsync_dir(self.directory)

    def dead_letter(self, entries: list[tuple[Prepared, str]]) -> None:
        """Append refused events and the reason to the dead-letter file."""
        if not entries:
            return
        with self._lock:
            self._ensure_dir()
            with open(self.directory / DEAD_LETTER, "ab") as handle:
                for event, reason in entries:
                    head = encode({"reason": reason, "time": time.time(), "kind": event.kind})
                    codec = CODECS[event.encoding]
                    if codec is not LEGACY:
                        head = head[:-1] + b',"enc":"' + codec.name.encode() + b'"}'
                    key = codec.dead_letter_key(event.kind).encode()
                    handle.write(head[:-1] + b',"' + key + b'":' + _data(event) + b"}\n")
                handle.flush()
                os.fsync(handle.fileno())

    def claim(self) -> Iterator[tuple[Path, list[Prepared], int]]:
        """Yield (file, events, unreadable lines) for each file this process now owns.

        A file claimed by a process that no longer runs is reclaimed. Call
        :meth:`settle` for each yielded file.
        """
        try:
            entries = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return
        me = os.getpid()
        for name in entries:
            path = self.directory / name
            if name.startswith(_CLAIMED):
                owner = _owner(name)
                if owner == me or (owner is not None and _pid_alive(owner)):
                    continue
                original = name[len(_CLAIMED) :].split("-", 1)[1]
            elif name.startswith(_PENDING):
                original = name
            else:
                continue
            claimed = self.directory / f"{_CLAIMED}{me}-{original}"
            try:
                os.replace(path, claimed)  # atomic: only one process wins a file
            except FileNotFoundError:
                continue
            events, bad = _read_events(claimed, self.codec)
            if bad:
                logger.error(
                    "honeyhive_trace: %d unreadable line(s) in spool file %s skipped",
                    bad,
                    claimed.name,
                )
            yield claimed, events, bad

    def settle(self, path: Path, remaining: list[Prepared]) -> None:
        """Finish a claimed file: delete it, or put back the events still unsent.

        What is put back keeps the file's original name, hence its place in
        the replay order.
        """
        with self._lock:
            if remaining:
                original = path.name
                if original.startswith(_CLAIMED):
                    original = original[len(_CLAIMED) :].split("-", 1)[1]
                self._write_file([_line(e) for e in remaining], original)
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            _fsync_dir(self.directory)

    def holds_events(self) -> bool:
        """Whether any file still holds events: waiting, or claimed for a replay under way."""
        try:
            return any(e.name.startswith((_PENDING, _CLAIMED)) for e in os.scandir(self.directory))
        except FileNotFoundError:
            return False

    def pending_files(self) -> list[Path]:
        """Pending files, oldest first (for tests and the CLI)."""
        try:
            return sorted(p for p in self.directory.iterdir() if p.name.startswith(_PENDING))
        except FileNotFoundError:
            return []


def _owner(name: str) -> int | None:
    try:
        return int(name[len(_CLAIMED) :].split("-", 1)[0])
    except ValueError:
        return None


def _line(event: Prepared) -> bytes:
    head = {"kind": event.kind, "id": event.event_id, "after": event.after}
    if event.encoding != LEGACY.name:
        head["enc"] = event.encoding
    return encode(head)[:-1] + b',"data":' + _data(event) + b"}\n"


def _data(event: Prepared) -> bytes:
    """The item's data as JSON: itself, or a base64 string for a binary codec's."""
    codec = CODECS.get(event.encoding)
    if codec is not None and codec.binary:
        return b'"' + base64.b64encode(event.data) + b'"'
    return event.data


def _parse(line: bytes) -> Prepared | None:
    item = json.loads(line)
    if not isinstance(item, dict):
        return None
    if "data" in item and "kind" in item:
        kind, key, after = item["kind"], item.get("id"), item.get("after")
        encoding = item.get("enc", LEGACY.name)
        if kind not in LEGACY.routes or encoding not in CODECS or not isinstance(key, str):
            return None
        after = after if isinstance(after, str) else None
        data = item["data"]
        if CODECS[encoding].binary and isinstance(data, str):
            return Prepared(key, base64.b64decode(data, validate=True), kind, after, encoding)
        if isinstance(data, dict):
            return Prepared(key, encode(data), kind, after, encoding)
        return None
    if isinstance(item.get("event_id"), str):  # a version-one line: a bare model event
        return Prepared(item["event_id"], line.rstrip(b"\r\n"))
    return None


def _read_events(path: Path, codec: Codec) -> tuple[list[Prepared], int]:
    events: list[Prepared] = []
    bad = 0
    with open(path, "rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                event = _parse(line)
            except ValueError:
                event = None
            if event is None:
                bad += 1
            else:
                events.append(codec.adopt(event))
    return events, bad


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
