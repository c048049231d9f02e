"""The filters of ``GET /events`` and ``GET /sessions``: parsed from query strings, as SQL."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from honeyhive_trace.collector._validate import FieldError, ValidationError

#: The most events one ``GET /events`` page holds (its ``limit``).
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
#: The event types stored in the events table (sessions have their own listing).
EVENT_TYPES = ("model", "tool", "chain")

_Q = TypeVar("_Q")


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError("must be true or false")


def _millis(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("must be unix milliseconds (a number)") from None
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _natural(text: str, maximum: int, message: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 20) or int(text) > maximum:
        raise ValueError(message)
    return int(text)


def _limit(text: str) -> int:
    return _natural(text, MAX_LIMIT, f"must be an integer from 0 to {MAX_LIMIT}")


def _offset(text: str) -> int:
    return _natural(text, 2**62, "must be a non-negative integer")


def _text(text: str) -> str:
    return text


def _event_type(text: str) -> str:
    if text == "session":
        raise ValueError("sessions are listed by GET /sessions")
    if text not in EVENT_TYPES:
        raise ValueError("must be one of " + ", ".join(EVENT_TYPES))
    return text


def _parse(cls: Callable[..., _Q], known: Mapping[str, Callable[[str], Any]], params: Any) -> _Q:
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    for name, given in params.items():
        if name not in known:
            errors.append({"field": name, "message": "is not a known filter"})
            continue
        if len(given) != 1:
            errors.append({"field": name, "message": "must be given at most once"})
            continue
        if given[0] == "":
            continue
        try:
            values[name] = known[name](given[0])
        except ValueError as exc:
            errors.append({"field": name, "message": str(exc)})
    if errors:
        raise ValidationError(errors)
    return cls(**values)


def _error_clause(has_error: bool | None, column: str = "error") -> str | None:
    if has_error is True:
        return f"({column} IS NOT NULL AND {column} <> '')"
    if has_error is False:
        return f"({column} IS NULL OR {column} = '')"
    return None


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Filters, order and page of an events query; newest first by start time.

    Attributes:
        project: Only events of this project.
        model: Only events of this model.
        session_id: Only events of this session.
        event_name: Only events with this name.
        has_error: True for failed calls only, False for successful calls only.
        since: Only events with ``start_time >= since`` (unix ms).
        until: Only events with ``start_time < until`` (unix ms).
        limit: Most events to return; None for all.
        offset: Events to skip, newest first.
        event_type: Only events of this type: ``model``, ``tool`` or ``chain``.
        session_name: Only events of sessions with this name (the name given to
            ``POST /session/start``, or the events' ``metadata.session_name``).
    """

    project: str | None = None
    model: str | None = None
    session_id: str | None = None
    event_name: str | None = None
    has_error: bool | None = None
    since: float | None = None
    until: float | None = None
    limit: int | None = DEFAULT_LIMIT
    offset: int = 0
    event_type: str | None = None
    session_name: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> EventQuery:
        """Build a query from ``GET /events`` query parameters; empty values are ignored.

        Args:
            params: Parameters as ``urllib.parse.parse_qs`` returns them.

        Returns:
            The query.

        Raises:
            ValidationError: Naming every bad or unknown parameter.
        """
        return _parse(cls, _EVENT_PARAMS, params)

    def where(self) -> tuple[str, list[Any]]:
        """Return the SQL ``WHERE`` clause (possibly empty) and its parameters."""
        clauses: list[str] = []
        args: list[Any] = []
        for column in ("project", "model", "session_id", "event_name", "event_type"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if self.session_name is not None:
            clauses.append(
                "(session_name = ? OR session_id IN"
                " (SELECT session_id FROM sessions WHERE session_name = ?))"
            )
            args += [self.session_name, self.session_name]
        error = _error_clause(self.has_error)
        if error is not None:
            clauses.append(error)
        return _where(clauses, args, self.since, self.until)


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """Filters and page of a sessions listing; newest first by start time.

    Attributes:
        project: Only sessions of this project.
        session_name: Only sessions with this name.
        has_error: True for sessions with a failed event (or a session error) only, False
            for the others.
        since: Only sessions that started at or after this time (unix ms).
        until: Only sessions that started before this time (unix ms).
        limit: Most sessions to return; None for all.
        offset: Sessions to skip, newest first.
    """

    project: str | None = None
    session_name: str | None = None
    has_error: bool | None = None
    since: float | None = None
    until: float | None = None
    limit: int | None = DEFAULT_LIMIT
    offset: int = 0

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> SessionQuery:
        """Build a query from ``GET /sessions`` query parameters; empty values are ignored.

        Args:
            params: Parameters as ``urllib.parse.parse_qs`` returns them.

        Returns:
            The query.

        Raises:
            ValidationError: Naming every bad or unknown parameter.
        """
        return _parse(cls, _SESSION_PARAMS, params)

    def where(self) -> tuple[str, list[Any]]:
        """Return the SQL ``WHERE`` clause over the summary columns, and its parameters."""
        clauses: list[str] = []
        args: list[Any] = []
        for column in ("project", "session_name"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if self.has_error is True:
            clauses.append("(error_count > 0 OR (error IS NOT NULL AND error <> ''))")
        elif self.has_error is False:
            clauses.append("(error_count = 0 AND (error IS NULL OR error = ''))")
        return _where(clauses, args, self.since, self.until)


def _where(
    clauses: list[str], args: list[Any], since: float | None, until: float | None
) -> tuple[str, list[Any]]:
    """Add the time range to *clauses*; return the ``WHERE`` clause and its parameters."""
    if since is not None:
        clauses.append("start_time >= ?")
        args.append(since)
    if until is not None:
        clauses.append("start_time < ?")
        args.append(until)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


_EVENT_PARAMS: dict[str, Callable[[str], Any]] = {
    "project": _text,
    "model": _text,
    "session_id": _text,
    "event_name": _text,
    "event_type": _event_type,
    "session_name": _text,
    "has_error": _bool,
    "since": _millis,
    "until": _millis,
    "limit": _limit,
    "offset": _offset,
}

_SESSION_PARAMS: dict[str, Callable[[str], Any]] = {
    "project": _text,
    "session_name": _text,
    "has_error": _bool,
    "since": _millis,
    "until": _millis,
    "limit": _limit,
    "offset": _offset,
}
