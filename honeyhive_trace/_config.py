"""Configuration: one frozen record, built from arguments and the environment.

Every setting is declared once, as a field of :class:`Config`: its name (the
keyword argument of :func:`honeyhive_trace.configure` and the name in error
messages), its default, its check and its environment variable. ``configure()``'s
signature is checked against these fields by the tests.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import attrs

from honeyhive_trace._otlp.require import require_otel
from honeyhive_trace.exceptions import ConfigurationError
from honeyhive_trace.locations import LAMBDA_ENV, sends_in_clear

__all__ = ["Config", "from_settings", "ENV_VARS", "SETTINGS", "DEFAULT_SERVER_URL"]

DEFAULT_SERVER_URL = "https://api.honeyhive.ai"
DEFAULT_PROJECT = "default"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})

Mode = Literal["background", "inline"]
ApiVersion = Literal["legacy", "v1"]
Compression = Literal["none", "gzip"]

_ENV = "honeyhive_trace.env"
_CHECK = "honeyhive_trace.check"


def setting(
    default: Any, check: Callable[[str, Any], Any], env: str | None = None, **kw: Any
) -> Any:
    """Declare one setting of :class:`Config`.

    Args:
        default: its value when neither given nor in the environment.
        check: turns a given value into the stored one; raises
            :class:`ConfigurationError` naming the setting.
        env: the environment variable that feeds it, if any.
        **kw: passed to :func:`attrs.field`.

    Returns:
        The attrs field.
    """
    return attrs.field(default=default, metadata={_ENV: env, _CHECK: check}, **kw)


def _parse_bool(setting: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(setting, f"expected true or false, got {value!r}")


def _check_url(setting: str, url: Any) -> str:
    if not isinstance(url, str):
        raise ConfigurationError(setting, f"expected a string, got {type(url).__name__}")
    text = url.strip()
    # Parsers disagree on these (urlsplit reads "http://evil\\@127.0.0.1" as a
    # loopback URL, requests connects to evil): refuse them rather than guess.
    if "\\" in text or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ConfigurationError(
            setting, "must not contain backslashes, whitespace or control characters"
        )
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise ConfigurationError(setting, f"is not a valid base URL: {url!r}") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigurationError(setting, f"must start with http:// or https://, got {url!r}")
    if "@" in parts.netloc:  # never echoed: it may hold a password
        raise ConfigurationError(
            setting, "must not hold credentials (user:password@); the API key is sent instead"
        )
    if not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(setting, f"is not a valid base URL: {url!r}")
    return text.rstrip("/")


def _positive(setting: str, value: Any, kind: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigurationError(setting, f"expected a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(setting, f"must be a positive number, got {value!r}")
    return value


def _seconds(setting: str, value: Any) -> float:
    return _positive(setting, value, (int, float))  # type: ignore[no-any-return]


def _count(setting: str, value: Any) -> int:
    return _positive(setting, value, int)  # type: ignore[no-any-return]


def _check_str(setting: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(setting, f"expected a non-empty string, got {value!r}")
    return value.strip()


def _check_bool(setting: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(setting, f"expected True or False, got {value!r}")
    return value


def _check_mode(setting: str, value: Any) -> str:
    if value not in ("background", "inline"):
        raise ConfigurationError(setting, f"expected 'background' or 'inline', got {value!r}")
    return str(value)


#: Where events can be exported: HoneyHive's REST API, and any OTLP/HTTP endpoint.
EXPORTERS = ("honeyhive", "otlp")


def _check_exporters(setting: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part.strip().lower() for part in value.split(",") if part.strip()]
    if not isinstance(value, Sequence) or not value:
        raise ConfigurationError(setting, "expected a non-empty sequence of exporter names")
    names = tuple(dict.fromkeys(value))
    unknown = [n for n in names if n not in EXPORTERS]
    if unknown:
        raise ConfigurationError(
            setting, f"unknown exporter {unknown[0]!r}; expected 'honeyhive' and/or 'otlp'"
        )
    return names


def _check_endpoint(setting: str, url: Any) -> str:
    require_otel(setting)
    return _check_url(setting, url)


def _check_headers(setting: str, value: Any) -> dict[str, str]:
    # The message never shows a value: headers often carry credentials.
    if isinstance(value, str):  # HH_OTLP_HEADERS: k=v,k2=v2 (values URL-encoded)
        pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ConfigurationError(setting, "expected key=value pairs separated by commas")
        value = {k.strip(): unquote(v.strip()) for k, v in pairs}
    if not isinstance(value, Mapping):
        raise ConfigurationError(setting, "expected a mapping of header name -> value")
    headers: dict[str, str] = {}
    for name, text in value.items():
        if not (isinstance(name, str) and name.strip() and isinstance(text, str)):
            raise ConfigurationError(setting, "header names and values must be strings")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in name + text) or ":" in name:
            # The name is not echoed: a misplaced "Authorization: ..." would leak.
            raise ConfigurationError(
                setting, "a header name has a ':', or a name or value a control character"
            )
        headers[name.strip()] = text
    return headers


#: The HoneyHive API versions events can be sent in (see docs/howto/api-versions.rst).
API_VERSIONS = ("legacy", "v1")


def _check_api_version(setting: str, value: Any) -> str:
    if value not in API_VERSIONS:
        raise ConfigurationError(setting, f"expected 'legacy' or 'v1', got {value!r}")
    return str(value)


def _check_compression(setting: str, value: Any) -> str:
    if value not in ("none", "gzip"):
        raise ConfigurationError(setting, f"expected 'none' or 'gzip', got {value!r}")
    return str(value)


def _check_api_key(setting: str, value: Any) -> str:
    # The message never shows the value: it is a secret even when malformed.
    key = value.strip() if isinstance(value, str) else None
    if not key:
        raise ConfigurationError(
            setting, f"expected a non-empty string, got {type(value).__name__}"
        )
    if not (key.isascii() and key.isprintable()) or " " in key:
        raise ConfigurationError(setting, "must be printable ASCII without spaces")
    return key


def _check_verify(setting: str, verify: Any) -> bool | str:
    if not isinstance(verify, (bool, str, os.PathLike)):
        raise ConfigurationError(setting, "expected True, False or a CA bundle path")
    if isinstance(verify, bool):
        return verify
    if not Path(verify).exists():
        raise ConfigurationError(setting, f"CA bundle {str(verify)!r} does not exist")
    return os.fspath(verify)


def _check_path(setting: str, value: Any) -> Path:
    return Path(value).expanduser()


def _check_processors(setting: str, processors: Any) -> tuple[Callable[[Any], Any], ...]:
    if not isinstance(processors, Sequence) or not all(callable(p) for p in processors):
        raise ConfigurationError(setting, "expected a sequence of callables")
    return tuple(processors)


def _check_prices(setting: str, prices: Any) -> dict[str, tuple[float, float]]:
    if not isinstance(prices, Mapping):
        raise ConfigurationError(setting, "expected a mapping of model -> (input, output)")
    checked: dict[str, tuple[float, float]] = {}
    for model, pair in prices.items():
        try:
            per_in, per_out = (float(x) for x in pair)
        except (TypeError, ValueError):
            raise ConfigurationError(
                setting, f"{model!r}: expected (input, output) USD per million tokens"
            ) from None
        if not (math.isfinite(per_in) and math.isfinite(per_out)) or min(per_in, per_out) < 0:
            raise ConfigurationError(setting, f"{model!r}: prices must be finite and >= 0")
        checked[str(model)] = (per_in, per_out)
    return checked


@attrs.define(frozen=True, slots=True, kw_only=True)
class Config:
    """The resolved settings of a client. Build it with :func:`from_settings`.

    Each field is one setting of :func:`honeyhive_trace.configure`, declared
    once here with its default, its check and its environment variable.
    """

    api_key: str | None = setting(None, _check_api_key, "HH_API_KEY", repr=False)
    project: str = setting(DEFAULT_PROJECT, _check_str, "HH_PROJECT")
    server_url: str = setting(DEFAULT_SERVER_URL, _check_url, "HH_API_URL")
    source: str | None = setting(None, _check_str, "HH_SOURCE")
    enabled: bool = setting(True, _check_bool, "HH_TRACING_ENABLED")
    mode: Mode = setting("background", _check_mode, "HH_TRACE_MODE")
    api_version: ApiVersion = setting("legacy", _check_api_version, "HH_API_VERSION")
    processors: tuple[Callable[[Any], Any], ...] = setting((), _check_processors)
    strict: bool = setting(False, _check_bool)
    allow_insecure_http: bool = setting(False, _check_bool)
    verify: bool | str = setting(True, _check_verify)
    connect_timeout: float = setting(3.0, _seconds)
    read_timeout: float = setting(10.0, _seconds)
    batch_size: int = setting(200, _count)
    max_batch_bytes: int = setting(1024 * 1024, _count)
    compression: Compression = setting("none", _check_compression, "HH_COMPRESSION")
    flush_interval: float = setting(1.0, _seconds)
    max_queue_size: int = setting(10_000, _count)
    max_queue_bytes: int = setting(64 * 1024 * 1024, _count, "HH_MAX_QUEUE_BYTES")
    retry_budget: float = setting(30.0, _seconds)
    inline_retry_budget: float = setting(2.0, _seconds)
    exit_timeout: float = setting(2.0, _seconds)
    spool_dir: Path | None = setting(None, _check_path, "HH_SPOOL_DIR")
    spool_max_bytes: int = setting(256 * 1024 * 1024, _count)
    prices: Mapping[str, tuple[float, float]] = setting(attrs.Factory(dict), _check_prices)
    propagate_threads: bool = setting(False, _check_bool, "HH_PROPAGATE_THREADS")
    exporters: tuple[str, ...] = setting(("honeyhive",), _check_exporters, "HH_EXPORTERS")
    otlp_endpoint: str | None = setting(None, _check_endpoint, "HH_OTLP_ENDPOINT")
    otlp_headers: Mapping[str, str] = setting(
        attrs.Factory(dict), _check_headers, "HH_OTLP_HEADERS", repr=False
    )
    otlp_capture_content: bool = setting(True, _check_bool, "HH_OTLP_CAPTURE_CONTENT")
    #: True when the server URL was given (argument or environment), not defaulted.
    server_url_given: bool = attrs.field(default=False)

    @property
    def honeyhive_destination(self) -> bool:
        """Whether HoneyHive's API is a destination: a key, or a server named on purpose."""
        return "honeyhive" in self.exporters and (
            self.api_key is not None or self.server_url_given
        )

    @property
    def active_exporters(self) -> tuple[str, ...]:
        """The exporters that have somewhere to send events, in their configured order."""
        return tuple(
            name
            for name in self.exporters
            if (name == "otlp" and self.otlp_endpoint is not None)
            or (name == "honeyhive" and self.honeyhive_destination)
        )

    @property
    def has_destination(self) -> bool:
        """Whether events have somewhere to go."""
        return bool(self.active_exporters)

    @property
    def recording(self) -> bool:
        """Whether traced calls record events at all."""
        return self.enabled and self.has_destination


#: The settings of ``configure()``, in its documented order.
SETTINGS: tuple[str, ...] = tuple(a.name for a in attrs.fields(Config) if _CHECK in a.metadata)

#: Environment variable → the setting it feeds.
ENV_VARS: Mapping[str, str] = {
    a.metadata[_ENV]: a.name for a in attrs.fields(Config) if a.metadata.get(_ENV)
}


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
    fields = attrs.fields_dict(Config)
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise ConfigurationError(sorted(unknown)[0], "is not a setting of configure()")
    values: dict[str, Any] = {}
    for name in SETTINGS:
        meta = fields[name].metadata
        value = settings.get(name)
        if value is None and meta[_ENV] and environ.get(meta[_ENV]):
            value = _from_environment(name, environ[meta[_ENV]])
        if value is not None:
            values[name] = meta[_CHECK](name, value)
    if "server_url" in values:
        values["server_url_given"] = True
    if "exporters" not in values and "otlp_endpoint" in values:
        # An OTLP endpoint given without a list of exporters: send there too.
        values["exporters"] = EXPORTERS
    if "mode" not in values and environ.get(LAMBDA_ENV):
        # On AWS Lambda the process is frozen once the handler returns: by
        # default each event is delivered (or spooled to /tmp) before the
        # traced call returns, within inline_retry_budget. Background mode
        # with @flush_after sends one batch per invocation instead.
        values["mode"] = "inline"
    config = Config(**values)
    _check_transport_security(config)
    return config


def _from_environment(name: str, raw: str) -> Any:
    default = attrs.fields_dict(Config)[name].default
    if isinstance(default, bool):
        return _parse_bool(name, raw)
    if name in ("mode", "api_version"):
        return raw.strip().lower()
    if type(default) is int:
        try:
            return int(raw.strip().replace("_", ""))
        except ValueError:
            raise ConfigurationError(name, f"expected a whole number, got {raw!r}") from None
    return raw


def _check_transport_security(config: Config) -> None:
    if "otlp" in config.exporters and config.otlp_endpoint is None:
        raise ConfigurationError(
            "otlp_endpoint", "is required when exporters include 'otlp' (HH_OTLP_ENDPOINT)"
        )
    if config.otlp_endpoint is not None:
        if (
            config.otlp_headers
            and sends_in_clear(config.otlp_endpoint)
            and not config.allow_insecure_http
        ):
            raise ConfigurationError(
                "otlp_endpoint",
                "refusing to send otlp_headers over plain http:// to a non-loopback host; "
                "use https:// or pass allow_insecure_http=True",
            )
    if (
        config.api_key is not None
        and sends_in_clear(config.server_url)
        and not config.allow_insecure_http
    ):
        raise ConfigurationError(
            "server_url",
            "refusing to send the API key over plain http:// to a non-loopback host; "
            "use https:// or pass allow_insecure_http=True",
        )
