"""The on-disk spool: events that could not be delivered yet, and dead letters.

Layout, under the configured spool directory::

    <spool_dir>/<destination>/pending-<pid>-<time_ns>-<n>.jsonl      waiting
    <spool_dir>/<destination>/claimed-<owner>-<pending name>         being replayed by <owner>
    <spool_dir>/<destination>/dead-letter.jsonl                      refused by the server
    <spool_dir>/<destination>/.<name>.part                           being written

``<owner>`` is ``<pid>.<start>.<boot>`` where Linux's ``/proc`` tells when
the process started (field 22 of ``/proc/<pid>/stat``) and which boot it
belongs to: a claim is stale once no process with that pid *and* start time
runs, so a reused pid (a container restarted as pid 1) does not keep it. Elsewhere
it is ``<pid>``, and a claim is stale once that pid is gone. Any claim older
than :data:`CLAIM_MAX_AGE` is stale too.

``<destination>`` is a hash of the server URL and API key (with ``-v1`` after
it for items written for HoneyHive's v1 API, which releases before it would
misread), so events are only
ever replayed to the server (and with the key) they were meant for. Each file
is written, flushed and fsynced before it is renamed to its final name, so a
crash leaves either a whole file or none (a failed write removes its ``.part``
file; one a crash left is counted in the cap, and removed once
:data:`PART_MAX_AGE` old). The dead-letter file is capped at the spool's cap
too. Files are deleted only after the
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

import hashlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from honeyhive_trace._json import encode
from honeyhive_trace.delivery.codec import CODECS, LEGACY, Codec
from honeyhive_trace.delivery.protocol import Prepared
from honeyhive_trace.delivery.spool_lines import data_json, line_of, read_items

__all__ = ["CLAIM_MAX_AGE", "PART_MAX_AGE", "Spool"]

logger = logging.getLogger("honeyhive_trace")

_PENDING = "pending-"
_CLAIMED = "claimed-"
DEAD_LETTER = "dead-letter.jsonl"
_PART = ".part"
#: Seconds after which a ``.part`` file is taken for a crashed write and removed
#: (a write in progress renames it within one fsync).
PART_MAX_AGE = 600.0
#: Seconds after which a claim is taken over whoever holds it: a replay settles
#: each file within its budget and one request's deadline, well under a minute.
CLAIM_MAX_AGE = 600.0


def destination_key(server_url: str, api_key: str | None) -> str:
    """A short, non-reversible name for a (server, key) pair."""
    digest = hashlib.sha256(f"{server_url}\n{api_key or ''}".encode()).hexdigest()
    return digest[:16]


def _process_stamp(pid: int) -> str | None:
    """``<start>.<boot>`` for process *pid*, read from Linux's /proc; None elsewhere or if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
        with open("/proc/sys/kernel/random/boot_id", "rb") as handle:
            boot = handle.read().strip().replace(b"-", b"")[:8].decode("ascii")
    except (OSError, UnicodeDecodeError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ")".
    fields = stat[stat.rfind(b")") + 2 :].split()
    if len(fields) < 20 or not fields[19].isdigit():
        return None
    return f"{int(fields[19])}.{boot}"  # field 22: start time in clock ticks since boot


_ME: list[tuple[int, str]] = []


def _my_owner() -> str:
    """This process's owner name for claims (recomputed in a forked child)."""
    pid = os.getpid()
    if not _ME or _ME[0][0] != pid:
        stamp = _process_stamp(pid)
        _ME[:] = [(pid, f"{pid}.{stamp}" if stamp else str(pid))]
    return _ME[0][1]


def _owner_alive(owner: str) -> bool:
    pid_text, _, stamp = owner.partition(".")
    try:
        pid = int(pid_text)
    except ValueError:
        return False  # not a name this library writes: take the file over
    if stamp:
        current = _process_stamp(pid)
        if current is not None:
            return current == stamp
    elif pid == os.getpid() and _my_owner() != pid_text:
        return False  # this pid's claims carry a start time: an earlier process's
    return _pid_alive(pid)


def _held_too_long(path: Path) -> bool:
    """Whether a claim is older than :data:`CLAIM_MAX_AGE` (renaming sets its ctime)."""
    try:
        return time.time() - path.stat().st_ctime > CLAIM_MAX_AGE
    except OSError:
        return False


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
        self,
        root: Path,
        destination: str,
        max_bytes: int,
        codec: Codec = LEGACY,
        holds: str | None = None,
    ) -> None:
        self.directory = root / destination
        self.max_bytes = max_bytes
        #: The configured API version: what replayed items are sent in.
        self.codec = codec
        #: The encoding of the items this directory keeps (the codec's, by default).
        self.holds = holds or codec.name
        #: The spool of the same destination in the other API version, whose files
        #: are replayed too (an older release reads only legacy files: v1 ones
        #: live in a directory of their own).
        self.sibling: Spool | None = None
        self._lock = threading.Lock()
        self._counter = itertools.count()

    def __repr__(self) -> str:
        return f"<Spool {self.directory}>"

    def after_fork(self) -> None:
        """In a forked child: a new lock (another thread may have held the old one)."""
        self._lock = threading.Lock()
        if self.sibling is not None:
            self.sibling.after_fork()

    def _ensure_dir(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def size(self) -> int:
        """Bytes held by pending, claimed and part-written files (old ``.part`` ones removed)."""
        total = 0
        now = time.time()
        try:
            for entry in os.scandir(self.directory):
                name = entry.name
                part = name.endswith(_PART)
                if not (part or name.startswith((_PENDING, _CLAIMED))):
                    continue
                try:
                    stat = entry.stat()
                    if part and now - stat.st_mtime > PART_MAX_AGE:
                        os.unlink(entry.path)  # left by a crash mid-write
                        logger.warning("honeyhive_trace: removed %s, left by a crash", name)
                        continue
                except FileNotFoundError:
                    continue
                total += stat.st_size
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
        lines = [line_of(e) for e in events]
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
        partial = self.directory / f".{name}{_PART}"
        try:
            with open(partial, "wb") as handle:
                handle.writelines(lines)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, final)
        except BaseException:
            try:
                partial.unlink()  # a full disk, a quota: leave nothing half-written
            except OSError:
                pass
            raise
        _fsync_dir(self.directory)

    def dead_letter(self, entries: list[tuple[Prepared, str]]) -> int:
        """Append refused events and the reason to the dead-letter file.

        The file is capped at :attr:`max_bytes`, like the spool.

        Returns:
            How many entries were not written because the file is at its cap.
        """
        if not entries:
            return 0
        lines: list[bytes] = []
        for event, reason in entries:
            head = encode({"reason": reason, "time": time.time(), "kind": event.kind})
            codec = CODECS[event.encoding]
            if codec is not LEGACY:
                head = head[:-1] + b',"enc":"' + codec.name.encode() + b'"}'
            key = codec.dead_letter_key(event.kind).encode()
            lines.append(head[:-1] + b',"' + key + b'":' + data_json(event) + b"}\n")
        with self._lock:
            self._ensure_dir()
            path = self.directory / DEAD_LETTER
            try:
                room = self.max_bytes - path.stat().st_size
            except FileNotFoundError:
                room = self.max_bytes
            kept = 0
            for line in lines:
                if len(line) > room:
                    break
                room -= len(line)
                kept += 1
            if kept:
                with open(path, "ab") as handle:
                    handle.writelines(lines[:kept])
                    handle.flush()
                    os.fsync(handle.fileno())
        if kept < len(lines):
            logger.error(
                "honeyhive_trace: dead-letter file %s is full (cap %d bytes); "
                "%d refused event(s) not kept",
                path,
                self.max_bytes,
                len(lines) - kept,
            )
        return len(lines) - kept

    def claim(self) -> Iterator[tuple[Path, list[Prepared], int]]:
        """Yield (file, events, unreadable lines) for each file this process now owns.

        A file claimed by a process that no longer runs is reclaimed. Call
        :meth:`settle` for each yielded file. The sibling's files (the other API
        version's, usually from an earlier run) come first.
        """
        if self.sibling is not None:
            yield from self.sibling.claim()
        try:
            entries = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return
        me = _my_owner()
        for name in entries:
            path = self.directory / name
            if name.startswith(_CLAIMED):
                owner = name[len(_CLAIMED) :].split("-", 1)[0]
                if owner == me or (_owner_alive(owner) and not _held_too_long(path)):
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
            events, bad = read_items(claimed, self.codec)
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
        sibling = self.sibling
        theirs_encoding = sibling.holds if sibling is not None else None
        theirs = [e for e in remaining if e.encoding == theirs_encoding]
        mine = [e for e in remaining if e.encoding != theirs_encoding]
        original = path.name
        if original.startswith(_CLAIMED):
            original = original[len(_CLAIMED) :].split("-", 1)[1]
        if sibling is not None and theirs:  # each item back where its version is kept
            with sibling._lock:
                sibling._ensure_dir()
                sibling._write_file([line_of(e) for e in theirs], original)
        with self._lock:
            if mine:
                self._ensure_dir()
                self._write_file([line_of(e) for e in mine], original)
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            _fsync_dir(path.parent)

    def holds_events(self) -> bool:
        """Whether any file still holds events: waiting, or claimed for a replay under way."""
        if self.sibling is not None and self.sibling.holds_events():
            return True
        try:
            return any(e.name.startswith((_PENDING, _CLAIMED)) for e in os.scandir(self.directory))
        except FileNotFoundError:
            return False

    def pending_files(self) -> list[Path]:
        """Pending files, the sibling's first, each directory's oldest first."""
        found = self.sibling.pending_files() if self.sibling is not None else []
        try:
            mine = sorted(p for p in self.directory.iterdir() if p.name.startswith(_PENDING))
        except FileNotFoundError:
            mine = []
        return found + mine


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
