"""Where honeyhive-trace keeps files, and which hosts count as this machine.

Nothing here touches the file system: the functions only compute paths (without
platformdirs). Callers create the directories when they first write to them. The library, the
collector and the CLI all apply the one loopback rule of :func:`is_loopback`.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "APP_NAME",
    "LAMBDA_ENV",
    "default_spool_dir",
    "is_loopback",
    "on_lambda",
    "sends_in_clear",
    "user_cache_dir",
    "user_data_dir",
]

#: Set by AWS Lambda in every function's environment.
LAMBDA_ENV = "AWS_LAMBDA_FUNCTION_NAME"

APP_NAME = "honeyhive-trace"


def _env_dir(name: str) -> Path | None:
    """Return the directory named by environment variable ``name``, if it is usable.

    Args:
        name: The environment variable to read.

    Returns:
        The path, or None when the variable is unset, empty or relative (the XDG spec says
        relative values must be ignored).
    """
    value = os.environ.get(name, "")
    if value and os.path.isabs(value):
        return Path(value)
    return None


def _windows_base() -> Path:
    """Return ``%LOCALAPPDATA%``, falling back to the conventional location under home.

    Returns:
        The per-user, non-roaming application data directory.
    """
    return _env_dir("LOCALAPPDATA") or Path.home() / "AppData" / "Local"


def user_data_dir() -> Path:
    """Return the directory where honeyhive-trace keeps user data, such as the events database.

    Returns:
        ``$XDG_DATA_HOME/honeyhive-trace`` (default ``~/.local/share/honeyhive-trace``) on
        Linux and other POSIX systems, ``~/Library/Application Support/honeyhive-trace`` on
        macOS and ``%LOCALAPPDATA%\\honeyhive-trace`` on Windows. The directory may not exist.
    """
    if sys.platform == "win32":
        return _windows_base() / APP_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_NAME
    return (_env_dir("XDG_DATA_HOME") or Path.home() / ".local" / "share") / APP_NAME


def user_cache_dir() -> Path:
    """Return the directory where honeyhive-trace keeps data it can rebuild or lose.

    Returns:
        ``$XDG_CACHE_HOME/honeyhive-trace`` (default ``~/.cache/honeyhive-trace``) on Linux and
        other POSIX systems, ``~/Library/Caches/honeyhive-trace`` on macOS and
        ``%LOCALAPPDATA%\\honeyhive-trace\\Cache`` on Windows. The directory may not exist.
    """
    if sys.platform == "win32":
        return _windows_base() / APP_NAME / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP_NAME
    return (_env_dir("XDG_CACHE_HOME") or Path.home() / ".cache") / APP_NAME


def on_lambda() -> bool:
    """Whether this process runs in an AWS Lambda function."""
    return bool(os.environ.get(LAMBDA_ENV))


def default_spool_dir() -> Path:
    """Where undelivered events go when no ``spool_dir`` is configured.

    The user's cache directory; on AWS Lambda, where only ``/tmp`` is
    writable (and survives between invocations of a warm instance),
    ``/tmp/honeyhive-trace/spool``.
    """
    if on_lambda():
        return Path("/tmp") / APP_NAME / "spool"
    return user_cache_dir() / "spool"


def is_loopback(host: str) -> bool:
    """Return whether *host* names only this machine.

    Args:
        host: a host name or IP literal, as in a URL (``[::1]`` brackets allowed).

    Returns:
        True for ``localhost`` (with or without the trailing dot) and loopback IP
        literals such as ``127.0.0.1`` and ``::1``. Any other name is False, even one
        that resolves to loopback today (``127.attacker.example`` is not trusted).
    """
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def sends_in_clear(url: str) -> bool:
    """Return whether a request to *url* would cross the network unencrypted.

    The one rule of the library and the CLI for sending the API key: plain
    ``http://`` is fine to this machine (see :func:`is_loopback`) and refused
    to any other host unless the user allows it (``allow_insecure_http``).

    Args:
        url: an absolute ``http://`` or ``https://`` URL.

    Returns:
        True for ``http://`` to a host that is not loopback (or has no host).
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return True  # unreadable: never assume it is safe
    if parts.scheme.lower() == "https":
        return False
    # Parsers disagree on where "http://evil\\@127.0.0.1" goes: never assume loopback.
    return "\\" in url or not is_loopback(host)
