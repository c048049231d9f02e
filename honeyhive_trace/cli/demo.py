"""``honeyhive-trace demo``: trace a small fake agent into a local collector, show its tree."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import honeyhive_trace as hh
from honeyhive_trace.cli._common import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    Stop,
    fail,
    install_stop_signals,
    port,
)
from honeyhive_trace.cli._fake_llm import fake_reply
from honeyhive_trace.cli._tree import print_tree
from honeyhive_trace.collector import Collector, StoreError

HELP = "trace a small fake agent into a local collector and show its trace"
DESCRIPTION = (
    "Start a collector, trace a small agent built on a fake (offline, deterministic) LLM "
    "with honeyhive_trace - a session, a chain, a retrieval tool, two model calls (one a "
    "tool call), a failing tool and feedback logged after the fact - print its tree, and "
    "check that every event, the session start and the updates arrived."
)
DEMO_PROJECT = "demo"
_NEEDED = (
    "configure",
    "trace_model",
    "trace_tool",
    "trace_chain",
    "session",
    "log_feedback",
    "flush",
    "shutdown",
)
QUESTION = "How do I trace an LLM call?"
#: The events the agent records, by name.
EXPECTED = ("answer_question", "choose_tool", "search_docs", "fetch_page", "write_answer")
#: USD per million (input, output) tokens of the fake models, so costs add up.
PRICES = {"fake-gpt-mini": (0.15, 0.60), "fake-gpt-large": (2.50, 10.00)}
#: The demo's whole knowledge base.
DOCS = {
    "tracing": "Decorate the function that calls the model with @trace_model.",
    "tools": "Decorate retrieval and other tools with @trace_tool.",
    "sessions": "Wrap a whole run in `with session(name=...)`.",
}
SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search_docs",
        "description": "Search the documentation",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
    },
}


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
    parser.add_argument(
        "--api-version",
        choices=("legacy", "v1"),
        default="legacy",
        help="HoneyHive API the library sends through: legacy (/events/model, ...) or v1 "
        "(/v1/events, ...); the result is the same (default %(default)s)",
    )
    parser.add_argument("--keep", action="store_true", help="keep serving the viewer until Ctrl-C")


def _record_usage(prompt_tokens: int, completion_tokens: int) -> None:
    event = hh.current_event()
    if event is not None:
        event.set_usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)


@hh.trace_model(model="fake-gpt-mini", provider="fake", event_name="choose_tool")
def choose_tool(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
    """The first model call: it answers with a call of the search tool."""
    _, prompt_tokens, _ = fake_reply(messages)
    _record_usage(prompt_tokens, 12)
    function = {"name": "search_docs", "arguments": json.dumps({"query": "tracing"})}
    call = {"id": "call_1", "type": "function", "function": function}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


@hh.trace_tool(event_name="search_docs", config={"index": "demo-docs"})
def search_docs(query: str, k: int = 2) -> dict[str, Any]:
    """The retrieval tool: documents whose topic matches the query."""
    hits = [{"topic": t, "text": text} for t, text in DOCS.items() if t in query or query in t]
    return {"hits": hits[:k] or [{"topic": "tracing", "text": DOCS["tracing"]}]}


@hh.trace_tool(event_name="fetch_page")
def fetch_page(url: str) -> str:
    """A tool that fails, as tools do: its error and traceback are recorded."""
    raise TimeoutError(f"fake timeout fetching {url}")


@hh.trace_model(model="fake-gpt-large", provider="fake", event_name="write_answer")
def write_answer(messages: list[dict[str, Any]]) -> Iterator[str]:
    """The second model call, streamed: its time to first token is recorded."""
    reply, prompt_tokens, completion_tokens = fake_reply(messages)
    _record_usage(prompt_tokens, completion_tokens)
    for word in reply.split(" "):
        yield word + " "


@hh.trace_chain(event_name="answer_question")
def answer_question(question: str, chain_ids: list[str]) -> dict[str, Any]:
    """The agent: pick a tool, run it, answer from what it found."""
    current = hh.current_event()
    if current is not None:
        chain_ids.append(current.event_id)  # what a web app would hand its front end
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "Answer from the documentation."},
        {"role": "user", "content": question},
    ]
    decision = choose_tool(messages, tools=[SEARCH_TOOL])
    call = decision["tool_calls"][0]
    found = search_docs(**json.loads(call["function"]["arguments"]))
    try:
        fetch_page("https://docs.example.com/tracing")
    except TimeoutError:
        pass  # the agent carries on without the page; the tool event keeps the error
    messages += [
        decision,
        {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(found)},
    ]
    answer = "".join(write_answer(messages)).strip()
    return {"answer": answer, "sources": [hit["topic"] for hit in found["hits"]]}


def _run_agent() -> tuple[str, str]:
    """Run the agent in a session, then log feedback on its answer; return both ids."""
    chain_ids: list[str] = []
    with hh.session(
        name="demo-agent", user_properties={"user_id": "demo-user"}, inputs={"question": QUESTION}
    ) as current:
        result = answer_question(QUESTION, chain_ids)
        current.set_outputs(result)
        current.add_metrics(sources=len(result["sources"]))
    # Later, the user clicks thumbs-up on the answer:
    hh.log_feedback(chain_ids[0], feedback={"rating": 1, "comment": "helpful"})
    return current.session_id, chain_ids[0]


def _missing(found: dict[str, Any] | None, chain_id: str) -> list[str]:
    """What did not arrive of the demo's session, events and updates."""
    if found is None:
        return ["the session"]
    missing = []
    session, events = found["session"], found["events"]
    if not session.get("started"):
        missing.append("the session start")
    names = sorted(str(e.get("event_name")) for e in events)
    if names != sorted(EXPECTED):
        missing.append(f"events (expected {sorted(EXPECTED)}, got {names})")
    if session.get("outputs") is None:
        missing.append("the session's end (its outputs)")
    chain: dict[str, Any] = next((e for e in events if e.get("event_id") == chain_id), {})
    if (chain.get("feedback") or {}).get("rating") != 1:
        missing.append("the feedback on the answer")
    return missing


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
        # v1 sends no project (HoneyHive takes it from the key): the collector files v1
        # events under its default project, here the demo's, so both versions look alike.
        collector = Collector(port=args.port, db=db, default_project=DEMO_PROJECT).start()
    except (StoreError, OSError) as exc:
        return fail(f"cannot start the demo collector: {exc}")
    try:
        hh.configure(
            server_url=collector.url,
            project=DEMO_PROJECT,
            api_key="demo-local-key",
            mode=args.mode,
            api_version=args.api_version,
            source="demo",
            prices=PRICES,
        )
        session_id, chain_id = _run_agent()
        delivered = hh.flush(timeout=10)
        hh.shutdown(timeout=5)
        found = collector.session(session_id)
        if found is not None:
            print_tree(found, sys.stdout)
        print(f"database: {collector.db}")
        missing = _missing(found, chain_id)
        if not delivered or missing:
            return fail(f"did not arrive: {', '.join(missing) or 'everything was not flushed'}")
        print(
            f"all {len(EXPECTED)} events, the session start and "
            f"{len(found['updates']) if found else 0} updates arrived"
        )
        print(
            f"next: run `honeyhive-trace serve`, then run your own app with "
            f"HH_API_URL=http://{DEFAULT_HOST}:{DEFAULT_PORT} and browse its traces there"
        )
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
