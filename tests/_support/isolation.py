"""The guard that proves a test run leaves the real home (and the checkout) untouched.

At session start the real home directories (the account's, from the password
database, and ``$HOME`` as the run started) are recorded with a snapshot of
every path under the directories honeyhive-trace would write to there, and
under ``.hypothesis`` in the checkout. At session finish a path that appeared
or whose modification time changed fails the run (exit status 1) and is
printed. Hypothesis keeps its files (example database, caches) in a temporary
directory removed at the end. ``tests/conftest.py`` imports the hooks;
``tests/test_isolation.py`` checks them.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

__all__ = [
    "REAL_HOMES",
    "changed_paths",
    "guarded_dirs",
    "pytest_configure",
    "pytest_sessionfinish",
    "pytest_sessionstart",
    "pytest_unconfigure",
    "real_homes",
    "snapshot",
]

#: Relative to a home directory: where honeyhive-trace keeps its cache and its data.
GUARDED = (Path(".cache/honeyhive-trace"), Path(".local/share/honeyhive-trace"))

Snapshot = dict[str, int]


def real_homes() -> list[Path]:
    """The account's home directory and ``$HOME`` (when set), without repeats."""
    homes = [Path(pwd.getpwuid(os.getuid()).pw_dir)]
    if os.environ.get("HOME"):
        homes.append(Path(os.environ["HOME"]))
    unique: list[Path] = []
    for home in homes:
        if home not in unique:
            unique.append(home)
    return unique


#: Filled at session start, before any fixture changes the environment.
REAL_HOMES: list[Path] = []


def guarded_dirs(homes: Iterable[Path]) -> list[Path]:
    """The honeyhive-trace directories under each of *homes*."""
    return [home / sub for home in homes for sub in GUARDED]


def snapshot(dirs: Iterable[Path]) -> Snapshot:
    """Every path in (and including) *dirs*, with its modification time in ns."""
    seen: Snapshot = {}
    for top in dirs:
        if not top.exists():
            continue
        seen[str(top)] = top.stat().st_mtime_ns
        for root, names, files in os.walk(top):
            for name in [*names, *files]:
                path = os.path.join(root, name)
                try:
                    seen[path] = os.lstat(path).st_mtime_ns
                except FileNotFoundError:  # removed while walking: not ours to judge
                    continue
    return seen


def changed_paths(before: Snapshot, after: Snapshot) -> list[str]:
    """Paths in *after* that are new or were modified since *before*, sorted."""
    return sorted(p for p, mtime in after.items() if before.get(p) != mtime)


_DIRS: list[Path] = []
_BEFORE: Snapshot = {}
_HYPOTHESIS_HOME: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Send Hypothesis's files (``.hypothesis`` in the cwd by default) to a temporary dir."""
    home = tempfile.mkdtemp(prefix="hh-tests-hypothesis-")
    _HYPOTHESIS_HOME.append(home)
    set_hypothesis_home_dir(home)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove Hypothesis's temporary dir."""
    while _HYPOTHESIS_HOME:
        shutil.rmtree(_HYPOTHESIS_HOME.pop(), ignore_errors=True)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Record the real homes and what the guarded directories hold."""
    REAL_HOMES[:] = real_homes()
    _DIRS[:] = [*guarded_dirs(REAL_HOMES), Path(session.config.rootpath) / ".hypothesis"]
    _BEFORE.clear()
    _BEFORE.update(snapshot(_DIRS))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if anything under the guarded directories was created or modified."""
    changed = changed_paths(_BEFORE, snapshot(_DIRS))
    if not changed:
        return
    lines = [
        "tests wrote to the real home (every test must use the temporary one):",
        *(f"  {path}" for path in changed),
    ]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        for line in lines:
            reporter.write_line(line, red=True)
    else:  # pragma: no cover - without the terminal plugin
        print("\n".join(lines))
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
