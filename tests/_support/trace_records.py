"""A realistic finished trace as records: session -> chain -> (tool, model)."""

from __future__ import annotations

from honeyhive_trace.records import Event, ModelEvent, SessionStart, Usage

SESSION = "caf77ace-3417-4da4-944d-f4a0688f3c23"
CHAIN = "7f22137a-6911-4ed3-bc36-110f1dde6b66"
TOOL = "0c4b9a6e-58a1-4f5e-9d0a-6b1c2e3f4a5b"
MODEL = "9e8d7c6b-5a49-4837-a261-504f3e2d1c0b"
START = 1_764_000_000_123  # ms

QUESTION = [{"role": "user", "content": "Weather in Paris?"}]
TOOL_CALL = {
    "id": "call_Wx1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}


def realistic_trace() -> list[Event]:
    """A session, the chain that answers, the tool it called and the model call."""
    session = SessionStart(
        project="test-project",
        source="dev",
        session_name="support-chat",
        event_id=SESSION,
        session_id=SESSION,
        start_time=START,
        user_properties={"user_id": "u-1"},
    )
    chain = Event(
        event_type="chain",
        project="test-project",
        source="dev",
        event_name="answer-question",
        event_id=CHAIN,
        session_id=SESSION,
        parent_id=SESSION,
        start_time=START + 1,
        end_time=START + 1 + 250,
        duration=250.125,
        inputs={"question": "Weather in Paris?"},
        outputs={"answer": "Sunny."},
    )
    tool = Event(
        event_type="tool",
        project="test-project",
        source="dev",
        event_name="get_weather",
        event_id=TOOL,
        session_id=SESSION,
        parent_id=CHAIN,
        start_time=START + 2,
        end_time=START + 2 + 40,
        duration=40.5,
        inputs={"city": "Paris"},
        outputs={"forecast": "sunny"},
        metadata={"tool_call_id": "call_Wx1"},
    )
    model = ModelEvent(
        project="test-project",
        source="dev",
        model="gpt-4o-2024-08-06",
        provider="openai",
        event_id=MODEL,
        session_id=SESSION,
        parent_id=CHAIN,
        start_time=START + 50,
        end_time=START + 50 + 120,
        duration=120.001,
        messages=QUESTION,
        response={"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
        usage=Usage(prompt_tokens=40, completion_tokens=18, total_tokens=58),
        hyperparameters={"temperature": 0.2, "max_tokens": 256, "stop": ["\n"]},
        tools=[{"type": "function", "function": {"name": "get_weather"}}],
        metadata={"finish_reason": "tool_calls", "response_id": "chatcmpl-abc123"},
        cost=0.00031,
    )
    return [session, chain, tool, model]
