"""Processors: plain functions run on each finished event before it is sent.

A processor takes a finished :class:`~honeyhive_trace.records.ModelEvent` and
returns an event (the same one, or a changed copy made with
:func:`attrs.evolve`) or ``None`` to drop it. ``configure(processors=[...])``
runs them in order on the worker thread in background mode (the default), not
on the traced call's thread; in inline mode everything, processors included,
runs on the caller's thread::

    import honeyhive_trace as hh
    from honeyhive_trace.processors import hide_inputs, redact, sample, truncate

    hh.configure(processors=[sample(0.1), redact(fields=["user_email"]), truncate(4000)])

(Sampling first saves redacting events that are dropped anyway.)

Built in:

- :func:`redact` replaces secrets (API keys, bearer tokens, AWS keys, GitHub
  tokens, JWTs, ...), e-mail addresses, your own patterns, and the values of
  keys you name.
- :func:`truncate` shortens long strings and records their original lengths.
- :func:`sample` keeps a share of sessions, whole sessions at a time.
- :func:`hide_inputs` and :func:`hide_outputs` blank what went into and came
  out of the model, like LangSmith's ``hide_inputs``/``hide_outputs`` options.

When a processor raises, the error is logged and counted
(``stats()["processor_errors"]``) and the event goes on as the previous
processor left it, so a bug in an optional enrichment cannot lose data. A
processor marked with :func:`fail_closed` (every built-in privacy processor
is) instead drops the event, counted as ``dropped_processor_error``: an event
that could not be redacted is never sent unredacted.

Processors that look inside values walk the free-form fields (``messages``,
``response``, ``inputs``, ``metadata``, ``hyperparameters``, ``template``,
``template_inputs``, ``tools``, ``response_format`` and ``error``), through
nested dicts and lists. They first turn each field into its JSON form (what
would be sent: objects become dicts or their ``repr``), so a secret inside an
SDK object or an exception message is found too.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import attrs

from honeyhive_trace._wire import record_truncation, to_jsonable, truncate_strings
from honeyhive_trace.exceptions import ConfigurationError
from honeyhive_trace.records import ModelEvent

__all__ = [
    "Processor",
    "SECRET_KEYS",
    "fail_closed",
    "hide_inputs",
    "hide_outputs",
    "redact",
    "sample",
    "truncate",
]

#: What a processor is: a finished event in, an event (or None to drop it) out.
Processor = Callable[[ModelEvent], ModelEvent | None]

P = TypeVar("P", bound=Callable[..., Any])

#: The free-form fields whose contents processors look into.
FREE_FORM_FIELDS = (
    "messages",
    "response",
    "inputs",
    "metadata",
    "hyperparameters",
    "template",
    "template_inputs",
    "tools",
    "response_format",
    "error",
)

#: Key names whose values ``redact(secrets=True)`` replaces whole, compared
#: case-insensitively with ``-`` read as ``_``.
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


def fail_closed(processor: P) -> P:
    """Mark *processor* so that an event it fails on is dropped, not sent as it was.

    Use it on your own privacy processors; the built-in ones are marked already.
    Usable as a decorator.

    Args:
        processor: a function taking a :class:`ModelEvent`.

    Returns:
        The same function, marked with ``fail_closed = True``.

    Raises:
        ConfigurationError: *processor* is not callable or cannot carry the mark
            (wrap a bound method in a ``def``).
    """
    if not callable(processor):
        raise ConfigurationError("processor", f"expected a callable, got {processor!r}")
    try:
        processor.fail_closed = True  # type: ignore[attr-defined]
    except AttributeError:
        raise ConfigurationError(
            "processor", f"{processor!r} cannot be marked; wrap it in a def"
        ) from None
    return processor


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

    def __call__(self, event: ModelEvent) -> ModelEvent:
        changes: dict[str, Any] = {}
        for name in FREE_FORM_FIELDS:
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


# -- truncate ---------------------------------------------------------------------------


class _Truncate:
    """The processor :func:`truncate` returns."""

    __name__ = "truncate"

    def __init__(self, max_chars: int, marker: str) -> None:
        self._limit = max_chars
        self._marker = marker

    def __repr__(self) -> str:
        return f"truncate(max_chars={self._limit}, marker={self._marker!r})"

    def __call__(self, event: ModelEvent) -> ModelEvent:
        cut: dict[str, int] = {}
        changes: dict[str, Any] = {}
        for name in (*FREE_FORM_FIELDS, "event_name", "source", "tool_choice"):
            value = getattr(event, name)
            if value is None:
                continue
            changes[name] = truncate_strings(
                to_jsonable(value), self._limit, self._marker, name, cut
            )
        if not cut:
            return event
        changes["metadata"] = record_truncation(changes.get("metadata"), cut, self._limit)
        return attrs.evolve(event, **changes)


def truncate(max_chars: int = 10_000, *, marker: str = "...[truncated]") -> Processor:
    """Make a processor that shortens every string longer than *max_chars*.

    Each long string keeps its first *max_chars* characters followed by
    *marker*. The original lengths go to ``metadata.original_lengths`` (by
    path, e.g. ``{"messages[0].content": 52011}``, at most 100 entries) and the
    limit to ``metadata.truncated_to_chars``. The event itself is never dropped.
    ``model``, ``provider`` and ``project`` are left alone.

    Args:
        max_chars: the longest string kept whole, at least 1.
        marker: appended to each shortened string.

    Returns:
        The processor.

    Raises:
        ConfigurationError: *max_chars* is not a positive integer, or *marker*
            is not a string.
    """
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise ConfigurationError("max_chars", f"expected a positive integer, got {max_chars!r}")
    if not isinstance(marker, str):
        raise ConfigurationError("marker", f"expected a string, got {marker!r}")
    return _Truncate(max_chars, marker)


# -- sample -------------------------------------------------------------------------------


def _share(key: str) -> float:
    """Map *key* to [0, 1), the same way in every process and on every run."""
    digest = hashlib.blake2b(key.encode("utf-8", "replace"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class _Sample:
    """The processor :func:`sample` returns."""

    __name__ = "sample"

    def __init__(self, rate: float) -> None:
        self._rate = rate

    def __repr__(self) -> str:
        return f"sample({self._rate!r})"

    def __call__(self, event: ModelEvent) -> ModelEvent | None:
        key = event.session_id or event.event_id
        return event if _share(key) < self._rate else None


def sample(rate: float) -> Processor:
    """Make a processor that keeps a share *rate* of events, whole sessions at a time.

    Whether an event is kept depends only on a hash of its ``session_id`` (its
    ``event_id`` outside sessions), so a session is kept or dropped whole, in
    every process that samples at the same rate; a lower rate keeps a subset
    of what a higher rate keeps. Dropped events are counted as
    ``dropped_by_processor``.

    Args:
        rate: the share to keep, from 0 (none) to 1 (all).

    Returns:
        The processor.

    Raises:
        ConfigurationError: *rate* is not a number between 0 and 1.
    """
    if (
        isinstance(rate, bool)
        or not isinstance(rate, (int, float))
        or not math.isfinite(rate)
        or not 0 <= rate <= 1
    ):
        raise ConfigurationError("rate", f"expected a number between 0 and 1, got {rate!r}")
    return _Sample(float(rate))


# -- hide inputs / outputs ----------------------------------------------------------------


@fail_closed
def hide_inputs(event: ModelEvent) -> ModelEvent:
    """Blank what went into the model: ``messages``, ``inputs``, ``template``, ...

    A ready-made processor (``processors=[hide_inputs]``), the counterpart of
    LangSmith's ``hide_inputs=True``: ``messages`` becomes ``[]`` (it is
    required, so it stays present), and ``inputs``, ``template``,
    ``template_inputs`` and ``tools``, where set, become empty. Model, usage,
    timing, hyperparameters, metadata and the response are kept. Marked
    :func:`fail_closed`.

    Args:
        event: the finished event.

    Returns:
        A copy with the inputs blanked.
    """
    return attrs.evolve(
        event,
        messages=[],
        inputs={} if event.inputs is not None else None,
        template=[] if event.template is not None else None,
        template_inputs={} if event.template_inputs is not None else None,
        tools=[] if event.tools is not None else None,
    )


@fail_closed
def hide_outputs(event: ModelEvent) -> ModelEvent:
    """Blank what came out of the model: ``response`` becomes ``{}``.

    A ready-made processor (``processors=[hide_outputs]``), the counterpart of
    LangSmith's ``hide_outputs=True``. Usage, cost and ``error`` are kept (use
    :func:`redact` for secrets in error messages). Marked :func:`fail_closed`.

    Args:
        event: the finished event.

    Returns:
        A copy with the response blanked.
    """
    return attrs.evolve(event, response={})
