"""Exceptions raised by honeyhive_trace.

The library raises only where the caller asked for it: bad configuration
given explicitly fails fast, and ``strict=True`` turns internal errors into
exceptions so that bugs cannot hide. Tracing failures are otherwise logged
through the ``honeyhive_trace`` logger and counted, never raised.

The tree::

    HoneyHiveTraceError
    ├── ConfigurationError  (also a ValueError) a setting has a bad value; names it
    └── TracingError        an internal failure, raised only with strict=True
"""

from __future__ import annotations

__all__ = ["HoneyHiveTraceError", "ConfigurationError", "TracingError"]


class HoneyHiveTraceError(Exception):
    """Base class of every exception honeyhive_trace raises."""


class ConfigurationError(HoneyHiveTraceError, ValueError):
    """A configuration value is invalid.

    Attributes:
        setting: the name of the offending setting, e.g. ``"server_url"``.
    """

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting


class TracingError(HoneyHiveTraceError):
    """An internal tracing failure, raised instead of logged when ``strict=True``."""
