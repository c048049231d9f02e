"""Whether the ``[otel]`` extra is installed, checked without importing it."""

from __future__ import annotations

import importlib.util

from honeyhive_trace.exceptions import ConfigurationError

__all__ = ["OTEL_EXTRA", "OTEL_MODULES", "require_otel"]

#: How the optional dependencies are installed.
OTEL_EXTRA = "pip install 'honeyhive-trace[otel]'"

#: The modules the OpenTelemetry bridge needs: the protobuf messages (export)
#: and the SDK (the span processor).
OTEL_MODULES = ("opentelemetry.proto.trace.v1.trace_pb2", "opentelemetry.sdk.trace")


def _missing() -> list[str]:
    missing = []
    for name in OTEL_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a parent package is absent or broken
            found = False
        if not found:
            missing.append(name)
    return missing


def require_otel(setting: str = "otlp_endpoint") -> None:
    """Fail fast when the OpenTelemetry packages are not installed.

    Finds the modules without importing them, so calling this costs nothing
    at configuration time.

    Args:
        setting: the setting that asked for OpenTelemetry (named in the error).

    Raises:
        ConfigurationError: ``opentelemetry-proto`` or ``opentelemetry-sdk`` is
            missing; the message names the ``[otel]`` extra.
    """
    missing = _missing()
    if missing:
        raise ConfigurationError(
            setting,
            f"OpenTelemetry support needs the [otel] extra ({OTEL_EXTRA}); "
            f"not installed: {', '.join(sorted({m.split('.')[1] for m in missing}))}",
        )
