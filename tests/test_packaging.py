"""The sdist and the wheel: complete, installable, and accepted by PyPI's checks.

Builds both from a copy of the source tree with ``python -m build
--no-isolation`` (offline: it uses the setuptools of this environment), the
wheel from the sdist as PyPI users get it, then looks inside. Skipped when
``build`` or ``setuptools`` is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import honeyhive_trace

pytest.importorskip("build")
pytest.importorskip("setuptools")

ROOT = Path(__file__).resolve().parent.parent
NAME = f"honeyhive_trace-{honeyhive_trace.__version__}"

#: Not part of a source distribution: environments, caches, build output.
IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "__pycache__",
    "*.pyc",
    "build",
    "dist",
    "_build",
    "*.egg-info",
)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Build the sdist, then the wheel from it; return both paths."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    out = work / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert 0 == result.returncode, result.stdout[-3000:] + result.stderr[-3000:]
    [sdist] = out.glob("*.tar.gz")
    [wheel] = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


def _sdist_names(path: Path) -> set[str]:
    with tarfile.open(path) as archive:
        return {name.removeprefix(f"{NAME}/") for name in archive.getnames()}


def _wheel_names(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as archive:
        return set(archive.namelist())


class TestSdist:
    def test_carries_what_tests_docs_and_users_need(self, dists: dict[str, Path]) -> None:
        names = _sdist_names(dists["sdist"])
        expected = {
            "README.rst",
            "CHANGELOG.rst",
            "setup.cfg",
            "setup.py",
            "pytest.ini",
            "ruff.toml",
            "honeyhive_trace/py.typed",
            "honeyhive_trace/collector/static/index.html",
            "honeyhive_trace/collector/static/app.js",
            "honeyhive_trace/collector/static/app.css",
            "docs/conf.py",
            "docs/index.rst",
            "tests/__init__.py",
            "tests/conftest.py",
            "tests/_support/__init__.py",
            "tests/typing/usage.py",
        }
        assert set() == expected - names

    def test_every_test_module_and_helper_is_included(self, dists: dict[str, Path]) -> None:
        names = _sdist_names(dists["sdist"])
        here = {
            p.relative_to(ROOT).as_posix()
            for p in (ROOT / "tests").rglob("*.py")
            if "__pycache__" not in p.parts
        }
        assert "tests/_support/wire.py" in here
        assert set() == here - names

    def test_leaves_out_build_output_and_caches(self, dists: dict[str, Path]) -> None:
        names = _sdist_names(dists["sdist"])
        assert [] == sorted(n for n in names if n.startswith("docs/_build") or "__pycache__" in n)


class TestWheel:
    def test_holds_the_package_its_data_and_nothing_else(self, dists: dict[str, Path]) -> None:
        names = _wheel_names(dists["wheel"])
        package = {
            str(p.relative_to(ROOT)).replace("\\", "/")
            for p in (ROOT / "honeyhive_trace").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        }
        assert set() == package - names
        top = {n.split("/", 1)[0] for n in names}
        assert {"honeyhive_trace", f"{NAME}.dist-info"} == top

    def test_metadata_and_entry_points(self, dists: dict[str, Path]) -> None:
        with zipfile.ZipFile(dists["wheel"]) as archive:
            metadata = Parser().parsestr(archive.read(f"{NAME}.dist-info/METADATA").decode())
            entry_points = archive.read(f"{NAME}.dist-info/entry_points.txt").decode()
        assert ("honeyhive-trace", honeyhive_trace.__version__, ">=3.10") == (
            metadata["Name"],
            metadata["Version"],
            metadata["Requires-Python"],
        )
        requires = {
            r.split(">")[0].split(";")[0].strip() for r in metadata.get_all("Requires-Dist") or []
        }
        assert {"attrs", "cattrs", "requests"} <= requires
        assert "text/x-rst" == metadata["Description-Content-Type"]
        assert "honeyhive-trace = honeyhive_trace.cli:main" in entry_points
        assert "honeyhive_trace = honeyhive_trace.pytest_plugin" in entry_points


def test_twine_check_accepts_both(dists: dict[str, Path]) -> None:
    """What PyPI checks on upload, README rendering included."""
    pytest.importorskip("twine")
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dists.values())],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert 0 == result.returncode, result.stdout + result.stderr
