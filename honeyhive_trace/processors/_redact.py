"""The :func:`redact` processor: secrets, e-mail addresses, patterns and named keys."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import attrs

from honeyhive_trace._wire import to_jsonable
from honeyhive_trace.exceptions import ConfigurationError
from honeyhive_trace.processors._base import Processor, inspected_fields
from honeyhive_trace.records import Record

__all__ = ["SECRET_KEYS", "redact"]

SECRET_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "x_api_key",
        "authorization",
        "proxy_authorization",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "secret_key",
        "access_token",
        "refresh_token",
        "id_token",
        "private_key",
        "aws_secret_access_key",
        "aws_session_token",
        "cookie",
        "set_cookie",
    }
)

# Each built-in pattern matches a secret; where only part of the match is the
# secret (the token after "Bearer "), that part is the group named "s<N>".
_SECRET_PATTERNS = (
    # OpenAI (sk-..., sk-proj-..., sk-svcacct-...), Anthropic (sk-ant-...) and alike.
    r"\bsk-[A-Za-z0-9_\-]{16,}",
    # Stripe-style live/test keys.
    r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}",
    # Authorization headers: "Bearer <token>", "Basic <credentials>".
    r"(?i:\b(?:bearer|basic)\s+)(?P<s>[A-Za-z0-9\-._~+/]{8,}=*)",
    # AWS access key ids.
    r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}\b",
    # AWS secret access keys, recognised by the name in front of them.
    r"(?i:aws_?secret_?access_?key|secret_?access_?key)[\"'\s:=]{1,5}(?P<s>[A-Za-z0-9/+=]{40})",
    # GitHub tokens: classic (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained.
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",
    r"\bgithub_pat_[A-Za-z0-9_]{22,}",
    # Slack and Google API keys.
    r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",
    r"\bAIza[0-9A-Za-z_\-]{35}",
    # JSON Web Tokens: header.payload.signature, both JSON parts start '{"' -> eyJ.
    r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*",
    # PEM private keys.
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
    # "password: hunter2", "api_key='...'", "client_secret=..." in free text.
    r"(?i:\b(?:api[_-]?key|secret[_-]?key|client[_-]?secret|password|passwd"
    r"|access[_-]?token|refresh[_-]?token|auth[_-]?token)\b)[\"']?\s*[:=]\s*[\"']?"
    r"(?P<s>[^\s\"'`,;&]{4,})",
)

_EMAIL_PATTERN = r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b"  # noqa: E501


# -- walking free-form values --------------------------------------------------------


def _key_name(key: str) -> str:
    return key.strip().lower().replace("-", "_")


def _check_names(setting: str, names: Any) -> frozenset[str]:
    if isinstance(names, (str, bytes)) or not isinstance(names, Iterable):
        raise ConfigurationError(setting, f"expected a list of names, got {names!r}")
    checked: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(setting, f"expected non-empty strings, got {name!r}")
        checked.add(_key_name(name))
    return frozenset(checked)


def _check_bool(setting: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(setting, f"expected True or False, got {value!r}")
    return value


def _compile(index: int, pattern: Any) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        if not isinstance(pattern.pattern, str):
            raise ConfigurationError("patterns", f"pattern {index} must match text, not bytes")
        compiled: re.Pattern[str] = pattern
    elif isinstance(pattern, str):
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ConfigurationError(
                "patterns",
                f"pattern {index} ({pattern!r}) is not a valid regular expression: {exc}",
            ) from None
    else:
        raise ConfigurationError(
            "patterns", f"pattern {index} must be a string or re.Pattern, got {pattern!r}"
        )
    if compiled.match("") is not None:
        raise ConfigurationError(
            "patterns", f"pattern {index} ({compiled.pattern!r}) matches the empty string"
        )
    return compiled


class _Scrubber:
    """Replaces every match of the configured patterns in one string."""

    __slots__ = ("_builtin", "_groups", "_user", "_marker")

    def __init__(self, builtin: list[str], user: list[re.Pattern[str]], marker: str) -> None:
        # The built-ins go in one alternation, so each string is scanned once.
        # Alternative i is group "p<i>"; its secret part, if any, is group "s<i>".
        parts = []
        for index, pattern in enumerate(builtin):
            numbered = pattern.replace("(?P<s>", f"(?P<s{index}>")
            parts.append(f"(?P<p{index}>{numbered})")
        self._builtin = re.compile("|".join(parts)) if parts else None
        self._user = user
        self._marker = marker

    def _replace(self, match: re.Match[str]) -> str:
        outer = match.lastgroup or ""
        inner = "s" + outer[1:]
        if inner in match.re.groupindex and match.start(inner) >= 0:
            start, end = match.span(outer)
            return (
                match.string[start : match.start(inner)]
                + self._marker
                + match.string[match.end(inner) : end]
            )
        return self._marker

    def __call__(self, text: str) -> str:
        if self._builtin is not None:
            text = self._builtin.sub(self._replace, text)
        for pattern in self._user:
            text = pattern.sub(self._marker, text)
        return text


def _redact_tree(value: Any, scrub: _Scrubber, keys: frozenset[str], marker: str) -> Any:
    # *value* is in JSON form (see to_jsonable): dicts, lists, str and scalars,
    # no cycles, nesting bounded.
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if keys and _key_name(key) in keys:
                out[scrub(key)] = marker
            else:
                out[scrub(key)] = _redact_tree(item, scrub, keys, marker)
        return out
    if isinstance(value, list):
        return [_redact_tree(item, scrub, keys, marker) for item in value]
    return value


class _Redact:
    """The processor :func:`redact` returns."""

    __name__ = "redact"
    fail_closed = True

    def __init__(self, scrub: _Scrubber, keys: frozenset[str], marker: str, desc: str) -> None:
        self._scrub = scrub
        self._keys = keys
        self._marker = marker
        self._desc = desc

    def __repr__(self) -> str:
        return f"redact({self._desc})"

    def __call__(self, event: Record) -> Record:
        changes: dict[str, Any] = {}
        for name in inspected_fields(type(event)):
            value = getattr(event, name)
            if value is None:
                continue
            changes[name] = _redact_tree(to_jsonable(value), self._scrub, self._keys, self._marker)
        return attrs.evolve(event, **changes)


def redact(
    *,
    patterns: Iterable[str | re.Pattern[str]] = (),
    fields: Iterable[str] = (),
    emails: bool = True,
    secrets: bool = True,
    marker: str = "[REDACTED]",
) -> Processor:
    """Make a processor that replaces secrets and personal data with *marker*.

    Matches are found in every string of the free-form fields, at any depth,
    dictionary keys included. The processor is :func:`fail_closed`: if it
    raises, the event is dropped rather than sent unredacted.

    Args:
        patterns: your own regular expressions; each match is replaced.
        fields: key names whose values are replaced whole, whatever their type
            (compared case-insensitively, ``-`` read as ``_``), e.g.
            ``["user_email", "ssn"]``.
        emails: replace e-mail addresses.
        secrets: replace well-known secret formats (``sk-...`` keys including
            ``sk-proj-``/``sk-ant-``, bearer and basic credentials, AWS access
            and secret keys, GitHub, Slack and Google tokens, JWTs, PEM private
            keys, ``password=...``-style assignments) and the values of keys in
            :data:`SECRET_KEYS` (``api_key``, ``authorization``, ``password``...).
        marker: the replacement text.

    Returns:
        The processor.

    Raises:
        ConfigurationError: an argument is invalid (a pattern does not compile
            or matches the empty string, a name is not a string, ...); the
            message names the argument.
    """
    if isinstance(patterns, (str, bytes, re.Pattern)) or not isinstance(patterns, Iterable):
        raise ConfigurationError(
            "patterns", f"expected a list of regular expressions, got {patterns!r}"
        )
    user = [_compile(index, pattern) for index, pattern in enumerate(patterns)]
    keys = _check_names("fields", fields)
    _check_bool("emails", emails)
    _check_bool("secrets", secrets)
    if not isinstance(marker, str):
        raise ConfigurationError("marker", f"expected a string, got {marker!r}")
    builtin: list[str] = []
    if secrets:
        builtin.extend(_SECRET_PATTERNS)
        keys |= SECRET_KEYS
    if emails:
        builtin.append(_EMAIL_PATTERN)
    desc = (
        f"patterns={[p.pattern for p in user]!r}, fields={sorted(keys - SECRET_KEYS)!r}, "
        f"emails={emails}, secrets={secrets}, marker={marker!r}"
    )
    return _Redact(_Scrubber(builtin, user, marker), keys, marker, desc)
