"""Decorated functions keep their types: ``mypy --strict`` on tests/typing/usage.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")

ROOT = Path(__file__).resolve().parent.parent
USAGE = ROOT / "tests" / "typing" / "usage.py"


def test_decorated_functions_keep_their_types_for_type_checkers(tmp_path: Path) -> None:
    # --follow-imports=silent: report only the usage file, not work in progress
    # elsewhere in the package (the package has its own `mypy --strict` run).
    # The cache goes to tmp_path, so the run leaves no .mypy_cache in the checkout.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",
            "--no-error-summary",
            f"--cache-dir={tmp_path / 'mypy_cache'}",
            str(USAGE.relative_to(ROOT)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (0, "") == (result.returncode, result.stdout + result.stderr)
