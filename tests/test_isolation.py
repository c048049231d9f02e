"""Tests leave no trace: each runs with a temporary HOME and XDG dirs, guarded at the end."""

from __future__ import annotations

import ast
import os
import pwd
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from honeyhive_trace import locations
from tests._support import isolation

ROOT = Path(__file__).resolve().parent.parent
VARIABLES = ("HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME")


def _real_homes() -> set[Path]:
    return {Path(pwd.getpwuid(os.getuid()).pw_dir), *isolation.REAL_HOMES}


class TestEachTestHasItsOwnHome:
    def test_home_and_xdg_variables_point_under_tmp_path(self, tmp_path: Path) -> None:
        assert isolation.REAL_HOMES, "the session start hook did not run"
        for name in VARIABLES:
            value = Path(os.environ[name])
            assert value.is_relative_to(tmp_path), name
            assert value not in _real_homes(), name
        assert Path.home() == Path(os.environ["HOME"])
        assert Path.home().is_dir()

    def test_the_library_directories_are_under_tmp_path(self, tmp_path: Path) -> None:
        for directory in (locations.user_cache_dir(), locations.user_data_dir()):
            assert directory.is_relative_to(tmp_path)
            assert not any(directory.is_relative_to(home) for home in _real_homes())

    def test_subprocesses_inherit_the_temporary_directories(self, tmp_path: Path) -> None:
        code = "from honeyhive_trace import locations; print(locations.user_cache_dir())"
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert Path(result.stdout.strip()).is_relative_to(tmp_path)


class TestTheGuard:
    def test_snapshot_sees_new_and_modified_paths(self, tmp_path: Path) -> None:
        watched = tmp_path / "watched"
        (watched / "sub").mkdir(parents=True)
        old = watched / "sub" / "old"
        old.write_text("old")
        os.utime(old, ns=(1_000_000_000, 1_000_000_000))
        before = isolation.snapshot([watched, tmp_path / "missing"])
        assert [] == isolation.changed_paths(before, isolation.snapshot([watched]))

        os.utime(old, ns=(2_000_000_000, 2_000_000_000))
        new = tmp_path / "missing" / "new"
        new.parent.mkdir()
        new.write_text("new")
        after = isolation.snapshot([watched, tmp_path / "missing"])
        assert [str(new.parent), str(new), str(old)] == isolation.changed_paths(before, after)

    def test_guarded_dirs_are_where_the_library_writes_by_default(self, tmp_path: Path) -> None:
        home = tmp_path / "someone"
        assert [
            home / ".cache" / "honeyhive-trace",
            home / ".local" / "share" / "honeyhive-trace",
        ] == isolation.guarded_dirs([home])

    @pytest.mark.parametrize("leak", [False, True], ids=["clean", "leaky"])
    def test_a_run_that_writes_to_the_real_home_fails(self, tmp_path: Path, leak: bool) -> None:
        """A session whose test writes to ~/.cache/honeyhive-trace exits 1, naming the file."""
        project = tmp_path / "project"
        project.mkdir()
        (project / "pytest.ini").write_text("[pytest]\n")
        (project / "conftest.py").write_text(
            "from tests._support.isolation import pytest_sessionfinish, pytest_sessionstart\n"
        )
        (project / "test_inner.py").write_text(
            textwrap.dedent(
                f"""
                import os
                from pathlib import Path

                def test_inner():
                    if {leak!r}:
                        cache = Path(os.environ["HOME"], ".cache", "honeyhive-trace")
                        cache.mkdir(parents=True)
                        (cache / "leaked.json").write_text("{{}}")
                """
            )
        )
        fake_home = tmp_path / "fake-home"
        fake_home.mkdir()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "HOME": str(fake_home), "PYTHONPATH": str(ROOT)},
        )
        output = result.stdout + result.stderr
        assert "1 passed" in output, output
        leaked = str(fake_home / ".cache" / "honeyhive-trace" / "leaked.json")
        assert (1 if leak else 0, leak) == (result.returncode, leaked in output), output


def test_no_module_imports_conftest_or_a_test_module() -> None:
    """Helpers live in tests._support; conftest and test modules are never imported."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "tests" and len(parts) > 1:
                    if parts[1] == "conftest" or parts[1].startswith("test_"):
                        offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert [] == offenders
