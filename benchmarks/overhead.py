"""Caller-thread overhead of a traced call, against OpenTelemetry in the same run.

Run: ``python benchmarks/overhead.py`` (needs the ``bench`` extra for OpenTelemetry).

The overhead of a tracer is (traced call - bare call), in CPU time of the
calling thread (:func:`time.thread_time_ns`): what the caller's thread pays.
For us, the traced call runs in background mode against a loopback collector,
with the batch size and flush interval set high enough that nothing is sent
inside the timed loop; the worker still prepares events as they arrive (a
slice at a time) on its own thread, whose time is not the caller's and is
measured by ``whole_cost.py``. OpenTelemetry's SDK span uses a
``BatchSpanProcessor`` (whose thread also runs meanwhile) with an exporter
that does nothing.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import Row, collector_process, print_table

import honeyhive_trace as hh
from honeyhive_trace import _client

N = 20_000
REPEATS = 7
#: Our overhead per event as a share of an OpenTelemetry SDK span's, at most.
TARGET = 0.1
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


def best_ns(fn: Callable[[], None], flush: bool = True) -> float:
    """Best per-call CPU time of this thread running *fn*, over REPEATS loops of N calls, in ns."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.thread_time_ns()
        fn()
        best = min(best, (time.thread_time_ns() - start) / N)
        if flush:
            hh.flush()
    return best


def loop(call: Callable[..., Any]) -> Callable[[], None]:
    def run() -> None:
        for _ in range(N):
            call(MESSAGES, temperature=0.2)

    return run


def async_loop(call: Callable[..., Any]) -> Callable[[], None]:
    async def main() -> None:
        for _ in range(N):
            await call(MESSAGES, temperature=0.2)

    return lambda: asyncio.run(main())


def step_loop(call: Callable[[str], Any]) -> Callable[[], None]:
    def run() -> None:
        for _ in range(N):
            call("q")

    return run


def answer(messages: list[Any], temperature: float = 0.0) -> str:
    return "Paris"


async def aanswer(messages: list[Any], temperature: float = 0.0) -> str:
    return "Paris"


def with_block(messages: list[Any], temperature: float = 0.0) -> str:
    with hh.model_event(model="gpt-4o", messages=messages, temperature=temperature) as ev:
        ev.set_response("Paris")
    return "Paris"


def lookup(query: str) -> list[str]:
    return [query]


def agent_step(query: str) -> list[str]:
    return lookup(query)


def measure() -> list[Row]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class NoopExporter(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(NoopExporter()))
    tracer = provider.get_tracer("bench")

    def otel_answer(messages: list[Any], temperature: float = 0.0) -> str:
        with tracer.start_as_current_span("answer"):
            return answer(messages, temperature)

    async def otel_aanswer(messages: list[Any], temperature: float = 0.0) -> str:
        with tracer.start_as_current_span("answer"):
            return await aanswer(messages, temperature)

    def otel_block(messages: list[Any], temperature: float = 0.0) -> str:
        with tracer.start_as_current_span("answer") as span:
            span.set_attribute("response", "Paris")
        return "Paris"

    def bare_block(messages: list[Any], temperature: float = 0.0) -> str:
        return "Paris"

    # A chain step calling a tool: two nested events (two nested spans for OTel).
    def otel_lookup(query: str) -> list[str]:
        with tracer.start_as_current_span("lookup"):
            return [query]

    def otel_agent_step(query: str) -> list[str]:
        with tracer.start_as_current_span("agent_step"):
            return otel_lookup(query)

    traced_lookup = hh.trace_tool(lookup)

    @hh.trace_chain
    def traced_agent_step(query: str) -> list[str]:
        return traced_lookup(query)

    traced = hh.trace_model(model="gpt-4o")(answer)
    atraced = hh.trace_model(model="gpt-4o")(aanswer)
    gc.collect()
    gc.disable()  # collections land at random points; keep both sides equal
    try:
        # Unconfigured: tracing resolves to the no-op client.
        unconfigured = best_ns(loop(traced), flush=False)
        bare = best_ns(loop(answer), flush=False)
        abare = best_ns(async_loop(aanswer), flush=False)
        otel = best_ns(loop(otel_answer), flush=False)
        aotel = best_ns(async_loop(otel_aanswer), flush=False)
        otel_cm = best_ns(loop(otel_block), flush=False)
        bare_cm = best_ns(loop(bare_block), flush=False)
        otel_steps = best_ns(step_loop(otel_agent_step), flush=False)
        bare_steps = best_ns(step_loop(agent_step), flush=False)
        with collector_process() as url:
            _client.reset()  # start from defaults, whatever ran before
            hh.configure(
                server_url=url,
                batch_size=N * 2,
                max_queue_size=N * 2,
                flush_interval=3600,
                spool_dir=tempfile.mkdtemp(),
            )
            ours = best_ns(loop(traced))
            aours = best_ns(async_loop(atraced))
            ours_cm = best_ns(loop(with_block))
            ours_steps = best_ns(step_loop(traced_agent_step))
            hh.configure(enabled=False)
            disabled = best_ns(loop(traced), flush=False)
            hh.shutdown(5)
    finally:
        gc.enable()
        provider.shutdown()

    def row(name: str, ours_ns: float, base_ns: float, otel_ns: float) -> Row:
        our_overhead = (ours_ns - base_ns) / 1000
        otel_overhead = (otel_ns - base_ns) / 1000
        ratio = our_overhead / otel_overhead
        target = f"<= {TARGET} x OTel"
        return Row(name, our_overhead, otel_overhead, "us", ratio, target, ratio <= TARGET)

    def flat(name: str, ours_ns: float) -> Row:
        over = (ours_ns - bare) / 1000
        return Row(name, over, bare / 1000, "us", over / (bare / 1000), "<= 0.5 us", over <= 0.5)

    return [
        row("@trace_model sync, overhead", ours, bare, otel),
        row("@trace_model async, overhead", aours, abare, aotel),
        row("with model_event, overhead", ours_cm, bare_cm, otel_cm),
        row("@trace_chain -> @trace_tool (2 events)", ours_steps, bare_steps, otel_steps),
        flat("unconfigured, over bare call", unconfigured),
        flat("enabled=False, over bare call", disabled),
    ]


def main() -> int:
    rows = measure()
    print_table(f"Caller-thread overhead per call (best of {REPEATS} x {N:,})", rows)
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
