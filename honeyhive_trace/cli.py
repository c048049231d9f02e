"""The ``honeyhive-trace`` command: run the local collector, list events, run a demo.

Usage::

    honeyhive-trace serve [--host H] [--port P] [--db PATH] [--api-key KEY]
    honeyhive-trace events [--db PATH | --url URL] [--limit N] [--json] [filters]
    honeyhive-trace demo [--keep] [--db PATH]

Also runnable as ``python -m honeyhive_trace``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from honeyhive_trace._version import __version__
from honeyhive_trace.collector import (
    Collector,
    EventQuery,
    EventStore,
    StoreError,
    default_db_path,
    is_loopback,
)
from honeyhive_trace.collector._store import MAX_LIMIT

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8719
API_KEY_ENV = "HH_COLLECTOR_API_KEY"
DEMO_PROJECT = "demo"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {value}")
    return value


def _limit(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_LIMIT}, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``honeyhive-trace`` command.

    Returns:
        The parser; each sub-command sets ``func`` to its handler.
    """
    parser = argparse.ArgumentParser(
        prog="honeyhive-trace",
        description="Local tools for honeyhive-trace: a HoneyHive-compatible collector "
        "with a web viewer, an events listing and a demo.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="run the local collector and viewer in the foreground",
        description="Run a local collector that accepts POST /events/model(/batch), "
        "stores events in SQLite and serves a viewer at /. Point the library at it with "
        "HH_API_URL=http://127.0.0.1:PORT.",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help="interface (default %(default)s)")
    serve.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help="TCP port, 0 for any (default %(default)s)",
    )
    serve.add_argument("--db", help=f"SQLite file or :memory: (default {default_db_path()})")
    serve.add_argument(
        "--api-key",
        default=os.environ.get(API_KEY_ENV),
        help=f"require 'Authorization: Bearer KEY' (default ${API_KEY_ENV}; prefer the "
        "environment, command lines are visible to other users)",
    )
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (requires an API key)",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=_positive_int,
        default=5 * 1024 * 1024,
        help="larger request bodies get 413 (default %(default)s)",
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="log every request")
    serve.set_defaults(func=_serve)

    events = commands.add_parser(
        "events",
        help="print recent events as a table or JSON lines",
        description="Print the most recent events, oldest first, from a collector "
        "database (read-only) or a running collector.",
    )
    source = events.add_mutually_exclusive_group()
    source.add_argument("--db", help=f"database to read (default {default_db_path()})")
    source.add_argument("--url", help="read from a running collector, e.g. http://127.0.0.1:8719")
    events.add_argument(
        "--api-key",
        default=os.environ.get(API_KEY_ENV),
        help=f"key for --url (default ${API_KEY_ENV})",
    )
    events.add_argument(
        "--limit", type=_limit, default=20, help="how many events (default %(default)s)"
    )
    events.add_argument("--json", action="store_true", help="print one JSON event per line")
    events.add_argument("--project", help="only this project")
    events.add_argument("--model", help="only this model")
    events.add_argument("--event-name", help="only events with this name")
    events.add_argument("--session-id", help="only events of this session")
    events.add_argument("--errors", action="store_true", help="only failed calls")
    events.set_defaults(func=_events)

    demo = commands.add_parser(
        "demo",
        help="trace a few fake LLM calls into a local collector and show them",
        description="Start a collector, trace sync, async, streaming, nested and failing "
        "calls of a fake (offline, deterministic) LLM with honeyhive_trace, and check that "
        "every event arrived.",
    )
    demo.add_argument("--db", help="database to use (default: a new temporary file)")
    demo.add_argument("--port", type=_port, default=0, help="collector port (default: any)")
    demo.add_argument(
        "--mode",
        choices=("background", "inline"),
        default="background",
        help="library delivery mode (default %(default)s)",
    )
    demo.add_argument("--keep", action="store_true", help="keep serving the viewer until Ctrl-C")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``honeyhive-trace`` command.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit status: 0 on success, 1 on failure, 2 for bad arguments.
    """
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `honeyhive-trace events | head`: the reader left; that is not an error.
        sys.stderr.close()
        return 0


def _fail(message: str, status: int = 1) -> int:
    print(f"honeyhive-trace: error: {message}", file=sys.stderr)
    return status


# -- serve --------------------------------------------------------------------------------


class _Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGINT to end ``serve``."""


def _install_stop_signals() -> None:
    fired = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal fired
        if not fired:  # a second signal while stopping must not interrupt the cleanup
            fired = True
            raise _Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _serve(args: argparse.Namespace) -> int:
    if args.verbose:
        import logging

        logging.basicConfig(
            level=logging.DEBUG, format="%(asctime)s %(name)s %(levelname)s %(message)s"
        )
    db = args.db if args.db is not None else str(default_db_path())
    try:
        collector = Collector(
            host=args.host,
            port=args.port,
            db=db,
            api_key=args.api_key or None,
            max_body_bytes=args.max_body_bytes,
            allow_remote=args.allow_remote,
        )
    except ValueError as exc:
        return _fail(str(exc).replace("allow_remote=True", "--allow-remote"), 2)
    except StoreError as exc:
        return _fail(str(exc))
    _install_stop_signals()
    try:
        try:
            collector.start()
        except OSError as exc:
            return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        auth = "api key required" if args.api_key else "no api key"
        print(
            f"honeyhive-trace collector listening on {collector.url} (db: {collector.db}; "
            f"{auth}); viewer at {collector.url}/ - Ctrl-C to stop",
            flush=True,
        )
        collector.serve_forever()
    except _Stop:
        pass
    finally:
        collector.stop()
    print("honeyhive-trace collector stopped", flush=True)
    return 0


# -- events -------------------------------------------------------------------------------


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
    target = url.rstrip("/") + "/events?" + urllib.parse.urlencode(params)
    request = urllib.request.Request(target, headers={"Accept": "application/json"})
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if is_loopback(urllib.parse.urlsplit(target).hostname or ""):
        handlers.append(urllib.request.ProxyHandler({}))  # never send a local read via a proxy
    with urllib.request.build_opener(*handlers).open(request, timeout=10) as response:
        data = json.load(response)
    return list(data["events"]), int(data["total"])


def _events(args: argparse.Namespace) -> int:
    query = _query(args)
    if args.url is not None:
        if urllib.parse.urlsplit(args.url).scheme not in ("http", "https"):
            return _fail(f"--url must be an http:// or https:// URL, got {args.url!r}", 2)
        try:
            events, total = _fetch_from_url(args.url, query, args.api_key)
        except urllib.error.HTTPError as exc:
            return _fail(f"{args.url} answered HTTP {exc.code}: {_error_detail(exc)}")
        except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
            return _fail(f"cannot read events from {args.url}: {exc}")
        where = args.url
    else:
        path = Path(args.db) if args.db is not None else default_db_path()
        try:
            store = EventStore(path, readonly=True)
        except StoreError as exc:
            return _fail(str(exc))
        try:
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


# -- table --------------------------------------------------------------------------------

_COLUMNS = ("TIME", "NAME", "MODEL", "PROVIDER", "DURATION", "TOKENS", "COST", "ERROR")
_RIGHT = frozenset({"DURATION", "TOKENS", "COST"})
_WIDEST = {"NAME": 36, "MODEL": 28, "PROVIDER": 14, "ERROR": 48}


def _clean(text: str, width: int | None = None) -> str:
    """Make event text safe for a terminal: no control characters or escape sequences."""
    out = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    if width is not None and len(out) > width:
        out = out[: width - 1] + "…"
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _duration(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms:,.0f} ms" if ms >= 100 else f"{ms:.1f} ms"


def _cells(event: dict[str, Any]) -> list[str]:
    start = _number(event.get("start_time"))
    when = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(start / 1000))
        if start is not None
        else "-"
    )
    duration = _number(event.get("duration"))
    usage = event.get("usage") if isinstance(event.get("usage"), dict) else {}
    tokens = usage.get("total_tokens") if isinstance(usage, dict) else None
    if not isinstance(tokens, int) and isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(prompt, int) and isinstance(completion, int):
            tokens = prompt + completion
    cost = _number(event.get("cost"))
    error = event.get("error")
    return [
        when,
        str(event.get("event_name") or "-"),
        str(event.get("model", "-")),
        str(event.get("provider", "-")),
        _duration(duration),
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
        [_clean(cell, _WIDEST.get(name)) for name, cell in zip(_COLUMNS, _cells(ev), strict=True)]
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


# -- demo ---------------------------------------------------------------------------------


def _fake_reply(messages: Sequence[dict[str, Any]]) -> tuple[str, int, int]:
    """A deterministic, offline stand-in for an LLM: (reply, prompt tokens, completion tokens)."""
    question = next(
        (str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), ""
    )
    time.sleep(0.02)  # a little latency, so durations in the viewer look like calls
    reply = f"(fake model) You asked {len(question.split())} words; the answer is 42."
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
    return reply, prompt_tokens, len(reply.split())


def _demo_calls() -> list[str]:
    """Trace one of every kind of call; return the event names that must arrive."""
    import asyncio

    import honeyhive_trace as hh

    def record_usage(prompt_tokens: int, completion_tokens: int) -> None:
        event = hh.current_event()
        if event is not None:
            event.set_usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)

    @hh.trace_model(model="fake-gpt-mini", provider="fake", event_name="demo.chat")
    def chat(messages: list[dict[str, Any]], temperature: float = 0.2) -> dict[str, str]:
        reply, prompt_tokens, completion_tokens = _fake_reply(messages)
        record_usage(prompt_tokens, completion_tokens)
        return {"role": "assistant", "content": reply}

    @hh.trace_model(model="fake-gpt-mini", provider="fake", event_name="demo.chat_async")
    async def chat_async(messages: list[dict[str, Any]]) -> dict[str, str]:
        await asyncio.sleep(0)
        reply, prompt_tokens, completion_tokens = _fake_reply(messages)
        record_usage(prompt_tokens, completion_tokens)
        return {"role": "assistant", "content": reply}

    @hh.trace_model(model="fake-gpt-mini", provider="fake", event_name="demo.stream")
    def stream(messages: list[dict[str, Any]]) -> Iterator[str]:
        reply, prompt_tokens, completion_tokens = _fake_reply(messages)
        record_usage(prompt_tokens, completion_tokens)
        for word in reply.split(" "):
            yield word + " "

    @hh.trace_model(model="fake-gpt-large", provider="fake", event_name="demo.plan")
    def plan(question: str) -> dict[str, str]:
        draft = chat([{"role": "user", "content": f"Draft an answer to: {question}"}])
        return chat([{"role": "user", "content": f"Improve this draft: {draft['content']}"}])

    @hh.trace_model(model="fake-gpt-mini", provider="fake", event_name="demo.flaky")
    def flaky(messages: list[dict[str, Any]]) -> dict[str, str]:
        raise RuntimeError("fake rate limit: try again later")

    hello = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What does honeyhive-trace record?"},
    ]
    chat(hello, temperature=0.0)
    asyncio.run(chat_async(hello))
    "".join(stream(hello))
    with hh.model_event(
        model="fake-gpt-mini", provider="fake", messages=hello, event_name="demo.manual"
    ) as event:
        reply, prompt_tokens, completion_tokens = _fake_reply(hello)
        event.set_response({"role": "assistant", "content": reply})
        event.set_usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
    with hh.session(name="demo-chat"):
        plan("How do I trace an LLM call?")
    try:
        flaky(hello)
    except RuntimeError:
        pass  # the failure is recorded as the event's error
    return [
        "demo.chat",
        "demo.chat_async",
        "demo.stream",
        "demo.manual",
        "demo.chat",
        "demo.chat",
        "demo.plan",
        "demo.flaky",
    ]


def _demo(args: argparse.Namespace) -> int:
    try:
        import honeyhive_trace as hh

        for name in ("configure", "trace_model", "model_event", "session", "flush"):
            getattr(hh, name)
    except (ImportError, AttributeError) as exc:
        return _fail(f"the tracing library is not available: {exc}")
    if args.db is not None:
        db = args.db
    else:
        import tempfile

        db = str(Path(tempfile.mkdtemp(prefix="honeyhive-trace-demo-")) / "events.db")
    try:
        collector = Collector(port=args.port, db=db).start()
    except (StoreError, OSError) as exc:
        return _fail(f"cannot start the demo collector: {exc}")
    try:
        known = {e["event_id"] for e in collector.events(project=DEMO_PROJECT)}
        hh.configure(
            server_url=collector.url,
            project=DEMO_PROJECT,
            api_key="demo-local-key",
            mode=args.mode,
            source="demo",
        )
        expected = _demo_calls()
        delivered = hh.flush(timeout=10)
        hh.shutdown(timeout=5)
        arrived = [e for e in collector.events(project=DEMO_PROJECT) if e["event_id"] not in known]
        arrived.reverse()
        print_table(arrived, sys.stdout)
        print(f"database: {collector.db}")
        names = sorted(str(e.get("event_name")) for e in arrived)
        if not delivered or names != sorted(expected):
            return _fail(
                f"expected {len(expected)} events {sorted(expected)}, "
                f"got {len(arrived)} {names} (flush returned {delivered})"
            )
        print(f"all {len(expected)} events arrived")
        if args.keep:
            _install_stop_signals()
            try:
                print(f"viewer at {collector.url}/ - Ctrl-C to stop", flush=True)
                collector.serve_forever()
            except _Stop:
                pass
        else:
            print(f"(run with --keep to browse them at {collector.url}/)")
        return 0
    finally:
        collector.stop()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
