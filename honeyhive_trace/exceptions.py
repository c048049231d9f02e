"""Exceptions raised by honeyhive_trace.

The library raises only where the caller asked for it: bad configuration
given explicitly fails fast, and ``strict=True`` turns internal errors into
exceptions so that bugs cannot hide. Tracing failures are otherwise logged
through the ``honeyhive_trace`` logger and counted, never raised.

The tree::

    HoneyHiveTraceError
    ├── ConfigurationError  (also a ValueError) a setting has a bad value; names it
    └── TracingError        an internal failure, raised only with strict=True

    UserWarning
    └── TracingWarning      a problem you must act on (a rejected key, a bad
                            environment setting, events left in the spool at
                            exit), issued once per kind and process, never raised
"""

from __future__ import annotations

__all__ = ["HoneyHiveTraceError", "ConfigurationError", "TracingError", "TracingWarning"]


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


class TracingWarning(UserWarning):
    """Events are not reaching the server, and only you can fix why.

    Issued (with the ``warnings`` module, so it shows on stderr even when logging is
    not configured) once per process for each kind of problem: the server
    rejected the API key or the events, an ``HH_*`` environment variable has
    a bad value (tracing is then off), events were left in the spool at exit.
    Routine retries are only logged. Silence it with
    ``warnings.filterwarnings("ignore", category=honeyhive_trace.TracingWarning)``
    or, from the environment, by module: ``PYTHONWARNINGS=ignore:::honeyhive_trace``;
    :func:`honeyhive_trace.health` says the same in words.
    """
