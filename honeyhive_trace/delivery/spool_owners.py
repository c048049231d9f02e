"""Who holds a claimed spool file, and when a claim is stale.

A replay renames each file it takes to ``claimed-<owner>-<name>``. ``<owner>``
is ``<pid>.<start>.<boot>``, where Linux's ``/proc`` tells when the process
started (field 22 of ``/proc/<pid>/stat``) and which boot it belongs to: a
claim is stale once no process with that pid *and* start time runs, so a
reused pid (a container restarted as pid 1) does not keep it. Elsewhere it is
``<pid>``, and a claim is stale once that pid is gone. Any claim older than
:data:`CLAIM_MAX_AGE` is stale too.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["CLAIM_MAX_AGE", "held_too_long", "my_owner", "owner_alive", "process_stamp"]

#: Seconds after which a claim is taken over whoever holds it: a replay settles
#: each file within its budget and one request's deadline, well under a minute.
CLAIM_MAX_AGE = 600.0


def process_stamp(pid: int) -> str | None:
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


def my_owner() -> str:
    """This process's owner name for claims (recomputed in a forked child)."""
    pid = os.getpid()
    if not _ME or _ME[0][0] != pid:
        stamp = process_stamp(pid)
        _ME[:] = [(pid, f"{pid}.{stamp}" if stamp else str(pid))]
    return _ME[0][1]


def owner_alive(owner: str) -> bool:
    """Whether the process a claim names (its ``<owner>``) still runs."""
    pid_text, _, stamp = owner.partition(".")
    try:
        pid = int(pid_text)
    except ValueError:
        return False  # not a name this library writes: take the file over
    if stamp:
        current = process_stamp(pid)
        if current is not None:
            return current == stamp
    elif pid == os.getpid() and my_owner() != pid_text:
        return False  # this pid's claims carry a start time: an earlier process's
    return _pid_alive(pid)


def held_too_long(path: Path) -> bool:
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
