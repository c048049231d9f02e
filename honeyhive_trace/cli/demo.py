"""``honeyhive-trace demo``: trace a few fake LLM calls into a local collector, show them."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import honeyhive_trace as hh
from honeyhive_trace.cli._common import Stop, fail, install_stop_signals, port
from honeyhive_trace.cli._fake_llm import fake_reply
from honeyhive_trace.cli.events import print_table
from honeyhive_trace.collector import Collector, StoreError

HELP = "trace a few fake LLM calls into a local collector and show them"
DESCRIPTION = (
    "Start a collector, trace sync, async, streaming, nested and failing calls of a fake "
    "(offline, deterministic) LLM with honeyhive_trace, and check that every event arrived."
)
DEMO_PROJECT = "demo"
_NEEDED = ("configure", "trace_model", "model_event", "session", "flush", "shutdown")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``demo`` to its parser."""
    parser.add_argument("--db", help="database to use (default: a new temporary file)")
    parser.add_argument("--port", type=port, default=0, help="collector port (default: any)")
    parser.add_argument(
        "--mode",
        choices=("background", "inline"),
        default="background",
        help="library delivery mode (default %(default)s)",
    )
    parser.add_argument("--keep", action="store_true", help="keep serving the viewer until Ctrl-C")


def _demo_calls() -> list[str]:
    """Trace one of every kind of call; return the event names that must arrive."""

    def record_usage(prompt_tokens: int, completion_tokens: int) -> None:
        event = hh.current_event()
        if event is not None:
            event.set_usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)

    @hh.trace_model(model="fake-gpt-mini", provider="fake", event_name="demo.chat")
    def chat(messages: list[dict[str, Any]], temperature: float = 0.2) -> dict[str, str]:
        reply, prompt_tokens, completion_tokens = fake_reply(messages)
        record_usage(prompt_tokens, completion_tokens)
        return {"role": "assistant", "content": reply}

    @hh.trace_model(model="fake-gpt-mini", provider="fake", event_name="demo.chat_async")
    async def chat_async(messages: list[dict[str, Any]]) -> dict[str, str]:
        await asyncio.sleep(0)
        reply, prompt_tokens, completion_tokens = fake_reply(messages)
        record_usage(prompt_tokens, completion_tokens)
        return {"role": "assistant", "content": reply}

    @hh.trace_model(model="fake-gpt-mini", provider="fake", event_name="demo.stream")
    def stream(messages: list[dict[str, Any]]) -> Iterator[str]:
        reply, prompt_tokens, completion_tokens = fake_reply(messages)
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
        reply, prompt_tokens, completion_tokens = fake_reply(hello)
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


def run(args: argparse.Namespace) -> int:
    """Run the demo.

    Args:
        args: The parsed options of ``demo``.

    Returns:
        The exit status: 1 if an event did not arrive.
    """
    missing = [name for name in _NEEDED if not hasattr(hh, name)]
    if missing:
        return fail(f"the tracing library is not available: no {', '.join(missing)}")
    if args.db is not None:
        db = args.db
    else:
        db = str(Path(tempfile.mkdtemp(prefix="honeyhive-trace-demo-")) / "events.db")
    try:
        collector = Collector(port=args.port, db=db).start()
    except (StoreError, OSError) as exc:
        return fail(f"cannot start the demo collector: {exc}")
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
            return fail(
                f"expected {len(expected)} events {sorted(expected)}, "
                f"got {len(arrived)} {names} (flush returned {delivered})"
            )
        print(f"all {len(expected)} events arrived")
        if args.keep:
            install_stop_signals()
            try:
                print(f"viewer at {collector.url}/ - Ctrl-C to stop", flush=True)
                collector.serve_forever()
            except Stop:
                pass
        else:
            print(f"(run with --keep to browse them at {collector.url}/)")
        return 0
    finally:
        collector.stop()
