"""Configuration: one frozen record, built from arguments and the environment.

Every setting has one name, used for the keyword argument of
:func:`honeyhive_trace.configure` and in error messages; the environment
variables that feed them are defined once, below.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs

from honeyhive_trace.exceptions import ConfigurationError
from honeyhive_trace.locations import is_loopback

__all__ = ["Config", "from_settings", "ENV_VARS", "DEFAULT_SERVER_URL"]

ENV_API_KEY = "HH_API_KEY"
ENV_PROJECT = "HH_PROJECT"
ENV_API_URL = "HH_API_URL"
ENV_SOURCE = "HH_SOURCE"
ENV_ENABLED = "HH_TRACING_ENABLED"
ENV_MODE = "HH_TRACE_MODE"
ENV_SPOOL_DIR = "HH_SPOOL_DIR"

#: Environment variable → the setting it feeds.
ENV_VARS: Mapping[str, str] = {
    ENV_API_KEY: "api_key",
    ENV_PROJECT: "project",
    ENV_API_URL: "server_url",
    ENV_SOURCE: "source",
    ENV_ENABLED: "enabled",
    ENV_MODE: "mode",
    ENV_SPOOL_DIR: "spool_dir",
}

DEFAULT_SERVER_URL = "https://api.honeyhive.ai"
DEFAULT_PROJECT = "default"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})

Mode = Literal["background", "inline"]


@attrs.define(frozen=True, slots=True, kw_only=True)
class Config:
    """The resolved settings of a client. Build it with :func:`from_settings`."""

    api_key: str | None = attrs.field(default=None, repr=False)
    project: str = DEFAULT_PROJECT
    server_url: str = DEFAULT_SERVER_URL
    #: True when the server URL was given (argument or environment), not defaulted.
    server_url_given: bool = False
    source: str | None = None
    enabled: bool = True
    mode: Mode = "background"
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    verify: bool | str = True
    allow_insecure_http: bool = False
    strict: bool = False
    processors: tuple[Callable[[Any], Any], ...] = ()
    batch_size: int = 200
    max_batch_bytes: int = 1024 * 1024
    flush_interval: float = 1.0
    max_queue_size: int = 10_000
    retry_budget: float = 30.0
    inline_retry_budget: float = 2.0
    exit_timeout: float = 2.0
    spool_dir: Path | None = None
    spool_max_bytes: int = 256 * 1024 * 1024
    prices: Mapping[str, tuple[float, float]] = attrs.field(factory=dict)

    @property
    def has_destination(self) -> bool:
        """Whether events have somewhere to go: a key, or a server named on purpose."""
        return self.api_key is not None or self.server_url_given

    @property
    def recording(self) -> bool:
        """Whether traced calls record events at all."""
        return self.enabled and self.has_destination


def _parse_bool(setting: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(setting, f"expected true or false, got {value!r}")


def _check_url(url: Any) -> str:
    if not isinstance(url, str):
        raise ConfigurationError("server_url", f"expected a string, got {type(url).__name__}")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise ConfigurationError("server_url", f"must start with http:// or https://, got {url!r}")
    try:
        port = parts.port  # raises ValueError on a malformed port
    except ValueError:
        port = -1
    if not parts.hostname or port == -1 or parts.query or parts.fragment:
        raise ConfigurationError("server_url", f"is not a valid base URL: {url!r}")
    return url.strip().rstrip("/")


def _check_positive(setting: str, value: Any, *, integer: bool = False) -> Any:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigurationError(setting, f"expected a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(setting, f"must be a positive number, got {value!r}")
    return value


_NUMBERS: Mapping[str, bool] = {  # setting -> must be an integer
    "connect_timeout": False,
    "read_timeout": False,
    "batch_size": True,
    "max_batch_bytes": True,
    "flush_interval": False,
    "max_queue_size": True,
    "retry_budget": False,
    "inline_retry_budget": False,
    "exit_timeout": False,
    "spool_max_bytes": True,
}


def _check_str(setting: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(setting, f"expected a non-empty string, got {value!r}")
    return value.strip()


def _check_api_key(value: Any) -> str:
    # The message never shows the value: it is a secret even when malformed.
    key = value.strip() if isinstance(value, str) else None
    if not key:
        raise ConfigurationError(
            "api_key", f"expected a non-empty string, got {type(value).__name__}"
        )
    if not (key.isascii() and key.isprintable()) or " " in key:
        raise ConfigurationError("api_key", "must be printable ASCII without spaces")
    return key


def from_settings(settings: Mapping[str, Any], environ: Mapping[str, str]) -> Config:
    """Build a :class:`Config` from explicit *settings* and the environment.

    Explicit settings win over the environment. Every value is checked here, so
    a bad value fails at :func:`~honeyhive_trace.configure` time, not later.

    Args:
        settings: keyword arguments given to ``configure()``; ``None`` means unset.
        environ: the environment to read ``HH_*`` variables from.

    Returns:
        The validated configuration.

    Raises:
        ConfigurationError: a value is invalid; the message names the setting.
    """
    unknown = set(settings) - set(attrs.fields_dict(Config)) - {"server_url_given"}
    if unknown:
        name = sorted(unknown)[0]
        raise ConfigurationError(name, "is not a setting of configure()")
    given = {k: v for k, v in settings.items() if v is not None}
    for env_name, setting in ENV_VARS.items():
        if setting not in given and environ.get(env_name):
            raw = environ[env_name]
            if setting == "enabled":
                given[setting] = _parse_bool(setting, raw)
            elif setting == "mode":
                given[setting] = raw.strip().lower()
            else:
                given[setting] = raw

    values: dict[str, Any] = {}
    if "api_key" in given:
        values["api_key"] = _check_api_key(given["api_key"])
    for name in ("project", "source"):
        if name in given:
            values[name] = _check_str(name, given[name])
    if "server_url" in given:
        values["server_url"] = _check_url(given["server_url"])
        values["server_url_given"] = True
    for name in ("enabled", "allow_insecure_http", "strict"):
        if name in given:
            if not isinstance(given[name], bool):
                raise ConfigurationError(name, f"expected True or False, got {given[name]!r}")
            values[name] = given[name]
    if "mode" in given:
        if given["mode"] not in ("background", "inline"):
            raise ConfigurationError(
                "mode", f"expected 'background' or 'inline', got {given['mode']!r}"
            )
        values["mode"] = given["mode"]
    for name, integer in _NUMBERS.items():
        if name in given:
            values[name] = _check_positive(name, given[name], integer=integer)
    if "verify" in given:
        verify = given["verify"]
        if not isinstance(verify, (bool, str, os.PathLike)):
            raise ConfigurationError("verify", "expected True, False or a CA bundle path")
        if not isinstance(verify, bool):
            if not Path(verify).exists():
                raise ConfigurationError("verify", f"CA bundle {str(verify)!r} does not exist")
            verify = os.fspath(verify)
        values["verify"] = verify
    if "spool_dir" in given:
        values["spool_dir"] = Path(given["spool_dir"]).expanduser()
    if "processors" in given:
        processors = given["processors"]
        if not isinstance(processors, Sequence) or not all(callable(p) for p in processors):
            raise ConfigurationError("processors", "expected a sequence of callables")
        values["processors"] = tuple(processors)
    if "prices" in given:
        values["prices"] = _check_prices(given["prices"])

    config = Config(**values)
    _check_transport_security(config)
    return config


def _check_prices(prices: Any) -> dict[str, tuple[float, float]]:
    if not isinstance(prices, Mapping):
        raise ConfigurationError("prices", "expected a mapping of model -> (input, output)")
    checked: dict[str, tuple[float, float]] = {}
    for model, pair in prices.items():
        try:
            per_in, per_out = (float(x) for x in pair)
        except (TypeError, ValueError):
            raise ConfigurationError(
                "prices", f"{model!r}: expected (input, output) USD per million tokens"
            ) from None
        if not (math.isfinite(per_in) and math.isfinite(per_out)) or min(per_in, per_out) < 0:
            raise ConfigurationError("prices", f"{model!r}: prices must be finite and >= 0")
        checked[str(model)] = (per_in, per_out)
    return checked


def _check_transport_security(config: Config) -> None:
    parts = urlsplit(config.server_url)
    if (
        config.api_key is not None
        and parts.scheme == "http"
        and not is_loopback(parts.hostname or "")
        and not config.allow_insecure_http
    ):
        raise ConfigurationError(
            "server_url",
            "refusing to send the API key over plain http:// to a non-loopback host; "
            "use https:// or pass allow_insecure_http=True",
        )
