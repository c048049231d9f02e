"""``honeyhive-trace events``: print recent events (a table or JSON lines) or a session's tree."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from honeyhive_trace.cli._common import (
    API_KEY_ENV,
    clean,
    duration_text,
    fail,
    number,
    positive_int,
)
from honeyhive_trace.cli._tree import print_tree
from honeyhive_trace.collector import (
    MAX_LIMIT,
    EventQuery,
    EventStore,
    StoreError,
    default_db_path,
    is_loopback,
)
from honeyhive_trace.locations import sends_in_clear

HELP = "print recent events as a table or JSON lines, or a session as a tree"
DESCRIPTION = (
    "Print the most recent events, oldest first, from a collector database (read-only) or a "
    "running collector; with --tree, print one session (the newest, or --session ID) as an "
    "indented tree of its events with their durations, tokens and cost, and its totals."
)


def _limit(text: str) -> int:
    value = positive_int(text)
    if value > MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_LIMIT}, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``events`` to its parser."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--db", help=f"database to read (default {default_db_path()})")
    source.add_argument("--url", help="read from a running collector, e.g. http://127.0.0.1:8719")
    parser.add_argument(
        "--api-key",
        default=os.environ.get(API_KEY_ENV),
        help=f"key for --url (default ${API_KEY_ENV})",
    )
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="send --api-key over plain http:// to a host that is not this machine",
    )
    parser.add_argument(
        "--limit", type=_limit, default=20, help="how many events (default %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON event per line")
    parser.add_argument("--project", help="only this project")
    parser.add_argument("--model", help="only this model")
    parser.add_argument("--event-name", help="only events with this name")
    parser.add_argument("--session-id", help="only events of this session")
    parser.add_argument("--errors", action="store_true", help="only failed calls")
    parser.add_argument(
        "--tree", action="store_true", help="print a session's events as an indented tree"
    )
    parser.add_argument(
        "--session", metavar="ID", help="the session for --tree (default: the newest one)"
    )


def _query(args: argparse.Namespace) -> EventQuery:
    return EventQuery(
        project=args.project,
        model=args.model,
        session_id=args.session_id,
        event_name=args.event_name,
        has_error=True if args.errors else None,
        limit=args.limit,
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects, so the API key is never forwarded to another server."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _get_json(url: str, api_key: str | None) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if is_loopback(urllib.parse.urlsplit(url).hostname or ""):
        handlers.append(urllib.request.ProxyHandler({}))  # never send a local read via a proxy
    with urllib.request.build_opener(*handlers).open(request, timeout=10) as response:
        return json.load(response)


def _fetch_from_url(url: str, query: EventQuery, api_key: str | None) -> tuple[list[Any], int]:
    params = {
        name: value
        for name, value in (
            ("project", query.project),
            ("model", query.model),
            ("session_id", query.session_id),
            ("event_name", query.event_name),
            ("has_error", "true" if query.has_error else None),
            ("limit", str(query.limit)),
        )
        if value is not None
    }
    data = _get_json(url.rstrip("/") + "/events?" + urllib.parse.urlencode(params), api_key)
    return list(data["events"]), int(data["total"])


def _session_from_url(url: str, session_id: str | None, api_key: str | None) -> Any:
    base = url.rstrip("/")
    if session_id is None:
        newest = _get_json(base + "/sessions?limit=1", api_key)["sessions"]
        if not newest:
            return None
        session_id = str(newest[0]["session_id"])
    try:
        return _get_json(base + "/sessions/" + urllib.parse.quote(session_id, safe=""), api_key)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def _session_from_store(store: EventStore, session_id: str | None) -> Any:
    if session_id is None:
        newest, _ = store.sessions()  # newest first
        if not newest:
            return None
        session_id = str(newest[0]["session_id"])
    return store.session(session_id)


def run(args: argparse.Namespace) -> int:
    """Print the events.

    Args:
        args: The parsed options of ``events``.

    Returns:
        The exit status.
    """
    if args.session is not None and not args.tree:
        return fail("--session needs --tree", 2)
    query = _query(args)
    if args.url is not None:
        if urllib.parse.urlsplit(args.url).scheme not in ("http", "https"):
            return fail(f"--url must be an http:// or https:// URL, got {args.url!r}", 2)
        if args.api_key and sends_in_clear(args.url) and not args.allow_insecure_http:
            return fail(
                "refusing to send the API key over plain http:// to a host that is not "
                "this machine; use https:// or pass --allow-insecure-http",
                2,
            )
        try:
            if args.tree:
                return _print_tree(_session_from_url(args.url, args.session, args.api_key), args)
            events, total = _fetch_from_url(args.url, query, args.api_key)
        except urllib.error.HTTPError as exc:
            return fail(f"{args.url} answered HTTP {exc.code}: {_error_detail(exc)}")
        except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
            return fail(f"cannot read events from {args.url}: {exc}")
        where = args.url
    else:
        path = Path(args.db) if args.db is not None else default_db_path()
        try:
            store = EventStore(path, readonly=True)
        except StoreError as exc:
            return fail(str(exc))
        try:
            if args.tree:
                return _print_tree(_session_from_store(store, args.session), args)
            bodies, total = store.query(query)
        finally:
            store.close()
        events = [json.loads(body) for body in bodies]
        where = str(path)
    events.reverse()  # oldest first, like a log
    if args.json:
        for event in events:
            print(json.dumps(event, separators=(",", ":")))
    else:
        print_table(events, sys.stdout)
        print(f"{len(events)} of {total} events from {where}")
    return 0


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read())
        return "; ".join(f"{e['field']}: {e['message']}" for e in body["errors"])
    except (ValueError, KeyError, TypeError, OSError):
        return str(exc.reason)


# -- the table ----------------------------------------------------------------------------

_COLUMNS = ("TIME", "NAME", "MODEL", "PROVIDER", "DURATION", "TOKENS", "COST", "ERROR")
_RIGHT = frozenset({"DURATION", "TOKENS", "COST"})
_WIDEST = {"NAME": 36, "MODEL": 28, "PROVIDER": 14, "ERROR": 48}


def _cells(event: dict[str, Any]) -> list[str]:
    start = number(event.get("start_time"))
    when = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(start / 1000))
        if start is not None
        else "-"
    )
    duration = number(event.get("duration"))
    usage = event.get("usage") if isinstance(event.get("usage"), dict) else {}
    tokens = usage.get("total_tokens") if isinstance(usage, dict) else None
    if not isinstance(tokens, int) and isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(prompt, int) and isinstance(completion, int):
            tokens = prompt + completion
    cost = number(event.get("cost"))
    error = event.get("error")
    return [
        when,
        str(event.get("event_name") or "-"),
        str(event.get("model", "-")),
        str(event.get("provider", "-")),
        duration_text(duration),
        f"{tokens:,}" if isinstance(tokens, int) else "-",
        f"${cost:.6f}" if cost is not None else "-",
        str(error) if error else "",
    ]


def print_table(events: Sequence[dict[str, Any]], out: TextIO) -> None:
    """Print events as an aligned, terminal-safe table.

    Args:
        events: The events, in the order to print them.
        out: Where to print.
    """
    if not events:
        print("no events", file=out)
        return
    rows = [
        [clean(cell, _WIDEST.get(name)) for name, cell in zip(_COLUMNS, _cells(ev), strict=True)]
        for ev in events
    ]
    widths = [max(len(name), *(len(row[i]) for row in rows)) for i, name in enumerate(_COLUMNS)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if name in _RIGHT else cell.ljust(width)
            for name, cell, width in zip(_COLUMNS, cells, widths, strict=True)
        ]
        return "  ".join(parts).rstrip()

    print(line(_COLUMNS), file=out)
    for row in rows:
        print(line(row), file=out)


# -- the tree -----------------------------------------------------------------------------


def _print_tree(found: Any, args: argparse.Namespace) -> int:
    if found is None:
        if args.session is not None:
            return fail(f"no session with id {clean(args.session, 80)}")
        return fail("no sessions yet")
    if args.json:
        print(json.dumps(found, separators=(",", ":")))
    else:
        print_tree(found, sys.stdout)
    return 0
