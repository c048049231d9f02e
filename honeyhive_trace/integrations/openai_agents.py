"""OpenAI Agents SDK: a tracing processor that records runs as one session tree.

::

    from agents import add_trace_processor
    from honeyhive_trace.integrations.openai_agents import TracingProcessor

    add_trace_processor(TracingProcessor())

Each trace of the SDK (one ``Runner.run``, or a ``with trace(...)`` block)
becomes a HoneyHive session, or a ``chain`` event when it starts inside a
traced function or an open ``hh.session``. Its spans become events under it:
agents, tasks, turns, guardrails and custom spans ``chain`` events; function
tools, handoffs and MCP tool listings ``tool`` events; model calls (Responses
API and Chat Completions) ``model`` events with messages, response, tool calls
and token usage.

Importing this module imports ``agents`` (the ``[openai-agents]`` extra);
``import honeyhive_trace`` never does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agents.tracing import Span, Trace
from agents.tracing import TracingProcessor as _SDKProcessor

from honeyhive_trace.capture import Session, current_event, current_session
from honeyhive_trace.integrations._access import dumps, field, plain, token_count, tool_call
from honeyhive_trace.integrations._runs import Runs, guarded

__all__ = ["TracingProcessor"]

#: Span type -> the kind of event it becomes (any other type: ``chain``).
EVENT_TYPES = {
    "agent": "chain",
    "task": "chain",
    "turn": "chain",
    "guardrail": "chain",
    "custom": "chain",
    "function": "tool",
    "handoff": "tool",
    "mcp_tools": "tool",
    "response": "model",
    "generation": "model",
    "transcription": "model",
    "speech": "model",
}
#: ``model_config`` settings recorded as ``hyperparameters``.
HYPERPARAMETERS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "frequency_penalty",
        "presence_penalty",
        "tool_choice",
        "parallel_tool_calls",
        "truncation",
        "seed",
    }
)


def _decoded(text: Any) -> Any:
    """A function tool's JSON arguments as a dict (else ``{"input": text}``)."""
    if isinstance(text, str):
        try:
            value = json.loads(text)
        except ValueError:
            return {"input": text}
        return value if isinstance(value, dict) else {"input": value}
    return text if isinstance(text, Mapping) else {"input": text}


def _chat_item(item: Any) -> Any:
    """One Responses API input item as a chat message where it has one."""
    kind = field(item, "type")
    if kind == "function_call":
        call = tool_call(field(item, "call_id"), field(item, "name"), field(item, "arguments"))
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    if kind == "function_call_output":
        output = field(item, "output")
        return {
            "role": "tool",
            "tool_call_id": field(item, "call_id"),
            "content": output if isinstance(output, str) else dumps(output),
        }
    return plain(item)


def _messages(instructions: Any, given: Any) -> list[Any]:
    messages: list[Any] = []
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    if isinstance(given, str):
        messages.append({"role": "user", "content": given})
    elif isinstance(given, (list, tuple)):
        messages.extend(_chat_item(item) for item in given)
    return messages


def _usage(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, Mapping):
        return None
    prompt = token_count(usage.get("input_tokens", usage.get("prompt_tokens")))
    completion = token_count(usage.get("output_tokens", usage.get("completion_tokens")))
    total = token_count(usage.get("total_tokens"))
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


def _error_text(error: Any) -> str | None:
    if not error:
        return None
    message = str(field(error, "message") or "error")
    data = field(error, "data")
    detail = field(data, "error") if isinstance(data, Mapping) else None
    return f"{message}: {detail}" if detail else message


def _start_fields(data: Any, kind: str) -> dict[str, Any]:
    """What is known of a span when it starts: its name, and an agent's tools."""
    span_type = str(getattr(data, "type", "span"))
    name = getattr(data, "name", None)
    fields: dict[str, Any] = {"event_name": name if isinstance(name, str) and name else span_type}
    metadata: dict[str, Any] = {"span_type": span_type}
    if span_type == "turn":
        fields["event_name"] = f"turn {getattr(data, 'turn', '')}".strip()
        metadata["agent_name"] = getattr(data, "agent_name", None)
    elif span_type == "handoff":
        fields["event_name"] = "handoff"
    elif span_type == "mcp_tools":
        fields["event_name"] = "mcp_list_tools"
    elif kind == "model" and span_type != "generation":
        fields["event_name"] = span_type
    fields["metadata"] = metadata
    return fields


class TracingProcessor(_SDKProcessor):
    """Record the OpenAI Agents SDK's traces and spans as HoneyHive events.

    Register it with ``agents.add_trace_processor(TracingProcessor())`` (the
    SDK keeps exporting to OpenAI's dashboard as well), or with
    ``agents.set_trace_processors([TracingProcessor()])`` to send traces to
    HoneyHive only. The SDK calls it from its own threads and tasks; it never
    raises into the SDK and never blocks on the network.

    A trace becomes a session (named after the workflow; its ``group_id``, if
    any, is the session's id, so the turns of one conversation share a
    session), or a ``chain`` event when it starts inside a traced function or
    an open ``hh.session``. Each span becomes an event under its parent span's
    event: see the module's documentation for which kind.
    """

    def __init__(self) -> None:
        self._runs = Runs()

    def __repr__(self) -> str:
        return f"<TracingProcessor open={len(self._runs)}>"

    @guarded("openai-agents: could not record the start of a trace")
    def on_trace_start(self, trace: Trace) -> None:
        """Open the trace's session (or chain event, inside a traced block)."""
        name = trace.name or "agent-workflow"
        metadata: dict[str, Any] = {"trace_id": trace.trace_id}
        given = getattr(trace, "metadata", None)
        if isinstance(given, Mapping):
            metadata.update(given)
        group_id = getattr(trace, "group_id", None)
        if current_event() is not None or current_session() is not None:
            if group_id:
                metadata["group_id"] = group_id
            fields = {"event_name": name, "metadata": metadata}
            self._runs.open(trace.trace_id, None, "chain", fields)
            return
        opened = Session(name, group_id or trace.trace_id, {"metadata": metadata})
        opened._open()
        self._runs.add_session(trace.trace_id, opened)

    @guarded("openai-agents: could not record the end of a trace")
    def on_trace_end(self, trace: Trace) -> None:
        """End the trace's session (or chain event)."""
        opened = self._runs.pop_session(trace.trace_id)
        if opened is not None:
            opened._end(None)
        else:
            self._runs.close(trace.trace_id)

    @guarded("openai-agents: could not record the start of a span")
    def on_span_start(self, span: Span[Any]) -> None:
        """Start the event of a span, under its parent span's (or its trace's)."""
        data = span.span_data
        kind = EVENT_TYPES.get(str(getattr(data, "type", "")), "chain")
        parent_key = span.parent_id or span.trace_id
        # A span whose trace we did not see (a processor added mid-trace) hangs
        # under the event current here, or at the top.
        # A function tool's own code runs between these two calls, in their
        # context: what it traces hangs under the tool's event.
        function = getattr(data, "type", None) == "function"
        fields = _start_fields(data, kind)
        self._runs.open(span.span_id, parent_key, kind, fields, current=function)

    @guarded("openai-agents: could not record the end of a span")
    def on_span_end(self, span: Span[Any]) -> None:
        """End the span's event with what the span gathered."""
        handle = self._runs.get(span.span_id)
        if handle is None:
            return
        data = span.span_data
        span_type = str(getattr(data, "type", ""))
        result = _fill(handle, data, span_type)
        error = _error_text(span.error)
        if error is not None:
            handle.set_error(error)
        if result is None:
            self._runs.close(span.span_id)
        else:
            self._runs.close(span.span_id, result)

    def shutdown(self) -> None:
        """Nothing to release: events are delivered by honeyhive_trace's own worker."""

    def force_flush(self) -> None:
        """Nothing is held here; ``hh.flush()`` delivers what was recorded."""


def _fill(handle: Any, data: Any, span_type: str) -> Any:
    """Set the fields a span gathered on its event; return the event's result, if any."""
    if span_type == "response":
        response = getattr(data, "response", None)
        instructions = field(response, "instructions")
        messages = _messages(instructions, getattr(data, "input", None))
        if messages:
            handle.update(messages=messages)
        if response is None:  # sensitive data left out of the trace: usage only
            usage = _usage(getattr(data, "usage", None))
            if usage is not None:
                handle.set_usage(usage)
            return None
        return response  # read by the OpenAI integration: response, usage, model, ...
    if span_type == "generation":
        fields: dict[str, Any] = {}
        given = getattr(data, "input", None)
        if given:
            fields["messages"] = list(given)
        output = getattr(data, "output", None)
        if isinstance(output, (list, tuple)) and output:
            fields["response"] = output[0] if len(output) == 1 else {"outputs": list(output)}
        model = getattr(data, "model", None)
        if model:
            fields["model"] = str(model)
        config = getattr(data, "model_config", None)
        if isinstance(config, Mapping):
            hyper = {k: v for k, v in config.items() if k in HYPERPARAMETERS and v is not None}
            if hyper:
                fields["hyperparameters"] = hyper
            if config.get("base_url"):
                handle.add_metadata(base_url=str(config["base_url"]))
        usage = _usage(getattr(data, "usage", None))
        if usage is not None:
            fields["usage"] = usage
        handle.update(**fields)
        return None
    if span_type in ("transcription", "speech"):
        model = getattr(data, "model", None)
        if model:
            handle.update(model=str(model))
        handle.update(response={"role": "assistant", "content": getattr(data, "output", None)})
        return None
    if span_type == "function":
        handle.set_inputs(_decoded(getattr(data, "input", None)))
        mcp = getattr(data, "mcp_data", None)
        if mcp:
            handle.add_metadata(mcp_data=mcp)
        return {"result": getattr(data, "output", None)}
    if span_type == "handoff":
        handle.set_inputs(
            {"from_agent": getattr(data, "from_agent", None), "to_agent": data.to_agent}
        )
        return None
    if span_type == "guardrail":
        return {"triggered": bool(getattr(data, "triggered", False))}
    if span_type == "mcp_tools":
        handle.set_inputs({"server": getattr(data, "server", None)})
        return {"tools": getattr(data, "result", None)}
    if span_type == "custom":
        handle.set_inputs(getattr(data, "data", None) or {})
        return None
    if span_type in ("task", "turn"):
        usage = getattr(data, "usage", None)
        if usage:
            handle.add_metadata(usage=usage)
        return None
    if span_type == "agent":  # its tools and handoffs are known once it ran
        known = {k: getattr(data, k, None) for k in ("tools", "handoffs", "output_type")}
        handle.add_metadata({k: v for k, v in known.items() if v})
        return None
    # A span type this version does not know: keep what it exports.
    try:
        handle.add_metadata(span_data=data.export())
    except Exception:  # an exporter of the SDK's that fails: nothing more to keep
        pass
    return None
