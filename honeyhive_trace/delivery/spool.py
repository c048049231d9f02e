"""The on-disk spool: events that could not be delivered yet, and dead letters.

Layout, under the configured spool directory::

    <spool_dir>/<destination>/pending-<pid>-<time_ns>-<n>.jsonl      waiting
    <spool_dir>/<destination>/claimed-<owner>-<pending name>         being replayed by <owner>
    <spool_dir>/<destination>/dead-letter.jsonl                      refused by the server
    <spool_dir>/<destination>/.<name>.part                           being written

``<owner>`` names the process that claimed the file, and tells when its
claim is stale (see :mod:`.spool_owners`).

``<destination>`` is a hash of the server URL and API key (with ``-v1`` after
it for items written for HoneyHive's v1 API, which releases before it would
misread), so events are only
ever replayed to the server (and with the key) they were meant for. Each file
is written, flushed and fsynced before it is renamed to its final name, so a
crash leaves either a whole file or none (a failed write removes its ``.part``
file; one a crash left is counted in the cap, and removed once
:data:`PART_MAX_AGE` old). The cap counts the files of every process that
spools to the same destination: every :data:`RECOUNT_SECONDS`, and when a
write would not fit in the last count, the files not seen yet are looked at;
every file only when a write still does not fit, at most once a
:data:`LOOK_AGAIN_SECONDS` (in between, a process adds what it wrote itself,
so a long outage's writes, past the cap too, do not each look at a directory
of many files). The dead-letter file is capped at the spool's cap too. Files
are deleted only after the server acknowledged every event in them.

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
from honeyhive_trace.delivery.spool_owners import held_too_long, my_owner, owner_alive

__all__ = ["LOOK_AGAIN_SECONDS", "PART_MAX_AGE", "RECOUNT_SECONDS", "Spool"]

logger = logging.getLogger("honeyhive_trace")

_PENDING = "pending-"
_CLAIMED = "claimed-"
DEAD_LETTER = "dead-letter.jsonl"
_PART = ".part"
#: Seconds after which a ``.part`` file is taken for a crashed write and removed
#: (a write in progress renames it within one fsync).
PART_MAX_AGE = 600.0
#: Seconds a count of the spool's bytes is used for (plus what this process
#: wrote since) before the files not seen yet are looked at.
RECOUNT_SECONDS = 1.0
#: Seconds between two looks at every file of a spool that writes do not fit
#: in (past its cap: what a replay cut short put back smaller is seen then).
LOOK_AGAIN_SECONDS = 10.0


def destination_key(server_url: str, api_key: str | None) -> str:
    """A short, non-reversible name for a (server, key) pair."""
    digest = hashlib.sha256(f"{server_url}\n{api_key or ''}".encode()).hexdigest()
    return digest[:16]


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
        #: Bytes the files held when last counted, plus what was written since
        #: (None: count first), when they were counted and when every file was
        #: last looked at (monotonic), and each file's bytes by name.
        self._held: int | None = None
        self._counted_at = self._looked_at = 0.0
        self._known: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"<Spool {self.directory}>"

    def after_fork(self) -> None:
        """In a forked child: a new lock (another thread may have held the old one)."""
        self._lock = threading.Lock()
        self._held = None
        self._known = {}
        if self.sibling is not None:
            self.sibling.after_fork()

    def _ensure_dir(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def size(self) -> int:
        """Bytes held by pending, claimed and part-written files (old ``.part`` ones removed)."""
        whole, parts = self._sizes({})
        return sum(whole.values()) + parts

    def _sizes(self, known: dict[str, int]) -> tuple[dict[str, int], int]:
        """(the bytes of each pending and claimed file, those of the part-written ones).

        A file in *known* is not looked at again: it is whole once it has its
        name (only a ``.part`` file grows). Names are compared as sets, so a
        count that finds little new costs about what listing the directory does.
        """
        try:
            names = set(os.listdir(self.directory))
        except FileNotFoundError:
            return {}, 0
        whole = dict(known)
        for name in known.keys() - names:  # replayed, or renamed by a claim
            del whole[name]
        parts = 0
        now = time.time()
        for name in names - known.keys():
            part = name.endswith(_PART)
            if not (part or name.startswith((_PENDING, _CLAIMED))):
                continue
            path = os.path.join(self.directory, name)
            try:
                stat = os.stat(path)
                if part and now - stat.st_mtime > PART_MAX_AGE:
                    os.unlink(path)  # left by a crash mid-write
                    logger.warning("honeyhive_trace: removed %s, left by a crash", name)
                    continue
            except FileNotFoundError:
                continue
            if part:
                parts += stat.st_size
            else:
                whole[name] = stat.st_size
        return whole, parts

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
            room = self._room(sum(map(len, lines)))
            kept: list[bytes] = []
            for line in lines:
                if len(line) > room:
                    break
                kept.append(line)
                room -= len(line)
            if kept:
                written = sum(map(len, kept))
                self._known[self._write_file(kept)] = written
                self._held = self.max_bytes - room  # what was counted, and these lines
        dropped = len(lines) - len(kept)
        if dropped:
            logger.error(
                "honeyhive_trace: spool %s is full (cap %d bytes); dropped %d event(s)",
                self.directory,
                self.max_bytes,
                dropped,
            )
        return len(kept), dropped

    def _room(self, needed: int) -> int:
        """Bytes left under the cap (lock held).

        The last count holds while *needed* fits in it, for :data:`RECOUNT_SECONDS`.
        Then the files not seen yet are looked at (and those gone are let go of:
        another process's replay may have made room). When *needed* still does
        not fit, every file is, at most once a :data:`LOOK_AGAIN_SECONDS` (a
        file put back smaller under its name, by a replay cut short, is seen then).
        """
        now = time.monotonic()
        held = self._held
        if held is not None:
            if held + needed <= self.max_bytes and now < self._counted_at + RECOUNT_SECONDS:
                return self.max_bytes - held
            self._known, parts = self._sizes(self._known)
            held = sum(self._known.values()) + parts
        if held is None or (
            held + needed > self.max_bytes and now >= self._looked_at + LOOK_AGAIN_SECONDS
        ):
            self._known, parts = self._sizes({})
            held = sum(self._known.values()) + parts
            self._looked_at = now
        self._counted_at = now
        self._held = held
        return self.max_bytes - held

    def _write_file(self, lines: list[bytes], name: str | None = None) -> str:
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
        return name

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
        me = my_owner()
        for name in entries:
            path = self.directory / name
            if name.startswith(_CLAIMED):
                owner = name[len(_CLAIMED) :].split("-", 1)[0]
                if owner == me or (owner_alive(owner) and not held_too_long(path)):
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
