"""Helpers shared by the collector, CLI and viewer tests: events, raw HTTP, subprocesses."""

from __future__ import annotations

import copy
import os
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import honeyhive_trace

REPO_ROOT = Path(honeyhive_trace.__file__).resolve().parents[1]
STARTUP_LINE = re.compile(r"listening on (http://[^ ]+) \(db: ([^;]+);")

_FULL_EVENT: dict[str, Any] = {
    "project": "New Project",
    "model": "gpt-4o",
    "provider": "openai",
    "messages": [{"role": "system", "content": "Hello, world!"}],
    "response": {"role": "assistant", "content": "Hello, world!"},
    "duration": 42,
    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    "cost": 0.00008,
    "error": None,
    "source": "playground",
    "event_name": "Model Completion",
    "hyperparameters": {
        "temperature": 0,
        "top_p": 1,
        "max_tokens": 1000,
        "presence_penalty": 0,
        "frequency_penalty": 0,
        "stop": ["<value>"],
        "n": 1,
    },
    "template": [{"role": "system", "content": "Hello, {{ name }}!"}],
    "template_inputs": {"name": "world"},
    "tools": [{"type": "function", "function": {"name": "get_current_weather"}}],
    "tool_choice": "none",
    "response_format": {"type": "text"},
    "metadata": {"user_id": "u-1"},
    "config": {"prompt": "v1"},
    "inputs": {"question": "hi"},
    "outputs": {"answer": "hello"},
    "metrics": {"latency_ok": True},
    "feedback": {"rating": 5},
    "user_properties": {"plan": "pro"},
    "children_ids": [],
    "start_time": 1732700000000,
    "end_time": 1732700000042,
    "event_type": "model",
}


def full_event(**overrides: Any) -> dict[str, Any]:
    """Return a model event using every documented field, with a fresh ``event_id``.

    Args:
        **overrides: Fields to replace or add.

    Returns:
        A new event dict.
    """
    event = copy.deepcopy(_FULL_EVENT)
    event["event_id"] = str(uuid.uuid4())
    event["session_id"] = str(uuid.uuid4())
    event.update(overrides)
    return event


def minimal_event(**overrides: Any) -> dict[str, Any]:
    """Return a model event with only the required fields.

    Args:
        **overrides: Fields to replace or add.

    Returns:
        A new event dict.
    """
    event: dict[str, Any] = {
        "project": "p",
        "model": "gpt-4o-mini",
        "provider": "openai",
        "messages": [{"role": "user", "content": "hi"}],
        "response": {"role": "assistant", "content": "hello"},
        "duration": 12.5,
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    event.update(overrides)
    return event


def raw_exchange(port: int, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send raw bytes, end the sending side, and read until the collector closes.

    Args:
        port: The collector's port on 127.0.0.1.
        data: What to send, e.g. a malformed request.
        timeout: Socket timeout, seconds.

    Returns:
        Everything the server sent back.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)  # EOF: the server must not wait for more
        except OSError:
            # The server may answer (e.g. 414) and close before we finish
            # sending: legitimate; read what it sent.
            pass
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(response: bytes) -> int:
    """Return the status code of a raw HTTP response.

    Args:
        response: The raw bytes, starting with the status line.

    Returns:
        The status code.
    """
    return int(response.split(b" ", 2)[1])


def cli_env(**extra: str) -> dict[str, str]:
    """Return an environment for running the CLI in a subprocess from this checkout.

    Args:
        **extra: Variables to add.

    Returns:
        The environment.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("HH_COLLECTOR_API_KEY", None)
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Any:
    """Run ``python -m honeyhive_trace ARGS`` to completion.

    Args:
        *args: Command-line arguments.
        env: Environment; :func:`cli_env` when None.
        timeout: Seconds before the run is killed.

    Returns:
        The ``subprocess.CompletedProcess`` with text stdout and stderr.
    """
    return subprocess.run(
        [sys.executable, "-m", "honeyhive_trace", *args],
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class ServeProcess:
    """``python -m honeyhive_trace serve ...`` in a subprocess, up once it printed its URL."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        """Start the server and wait for its startup line (stdout, unbuffered)."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "honeyhive_trace", "serve", *args],
            env=env or cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.startup_line = self.proc.stdout.readline()
        match = STARTUP_LINE.search(self.startup_line)
        if match is None:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            raise AssertionError(f"no startup line: {self.startup_line!r}; stderr: {err!r}")
        self.url = match.group(1)
        self.db = match.group(2)
        self.port = int(self.url.rsplit(":", 1)[1])

    def finish(self, timeout: float = 20) -> tuple[int, str, str]:
        """Wait for the process to exit.

        Args:
            timeout: Seconds to wait.

        Returns:
            Exit status, the rest of stdout, and stderr.
        """
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err

    def kill(self) -> None:
        """Kill the process if it still runs and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=20)
