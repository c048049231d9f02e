"""LangChain and LangGraph: the real packages, runs recorded by the CallbackHandler.

Chat models are LangChain's own fake chat model (no network) or the real
``langchain-openai`` ChatOpenAI against the fake OpenAI provider on loopback.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from typing import Any, TypedDict

import openai
import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

import honeyhive_trace as hh
from honeyhive_trace.collector import Collector
from honeyhive_trace.integrations import wrap_openai
from honeyhive_trace.integrations.langchain import CallbackHandler
from honeyhive_trace.records import Event, ModelEvent
from honeyhive_trace.testing import CapturedEvents, capture_events
from tests._support.fake_provider import (
    FakeProvider,
    openai_chat,
    openai_chat_stream,
    openai_error,
    openai_usage,
    recorded,
    tool_call,
)
from tests._support.openapi import spec_errors

QUESTION = "Capital of France?"
PROMPT = ChatPromptTemplate.from_messages([("system", "Be brief."), ("user", "{question}")])
USAGE = {"input_tokens": 11, "output_tokens": 3, "total_tokens": 14}


def reply(text: str = "Paris.") -> AIMessage:
    return AIMessage(
        content=text,
        usage_metadata=USAGE,  # type: ignore[arg-type]
        response_metadata={"model_name": "fake-model-1", "finish_reason": "stop"},
    )


def fake_model(*texts: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([reply(t) for t in texts or ("Paris.",)]))


def config() -> Any:
    return {"callbacks": [CallbackHandler()]}


def valid_bodies(events: CapturedEvents) -> list[dict[str, Any]]:
    """The wire bodies of *events*, each checked against its route's published schema."""
    bodies = events.bodies()
    for event, body in zip(events, bodies, strict=True):
        if isinstance(event, ModelEvent):
            assert [] == spec_errors("POST", "/events/model", {"model_event": body})
        else:
            assert [] == spec_errors("POST", "/events", {"event": body})
    return bodies


def tree(events: CapturedEvents, root: Event, depth: int = 0) -> list[tuple[int, str, str]]:
    """(depth, event_type, event_name) of *root* and its descendants, in start order."""
    out = [(depth, root.event_type, root.event_name or "")]
    for child in events.children(root):
        out += tree(events, child, depth + 1)
    return out


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny in {city}"


class Docs(BaseRetriever):
    """A retriever over two fixed documents."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document(page_content=f"{query}: Paris", metadata={"source": "atlas"}, id="d1"),
            Document(page_content="France is in Europe", metadata={}),
        ]


class TestChains:
    def test_prompt_model_parser_is_one_tree_under_the_session(self) -> None:
        chain = PROMPT | fake_model() | StrOutputParser()
        with capture_events() as events:
            with hh.session(name="chat") as session:
                answer = chain.invoke({"question": QUESTION}, config=config())

        assert "Paris." == answer
        bodies = valid_bodies(events)
        root = events.one(event_name="RunnableSequence")
        assert session.session_id == root.parent_id
        assert {session.session_id} == {e.session_id for e in events}
        assert [
            (0, "chain", "RunnableSequence"),
            (1, "chain", "ChatPromptTemplate"),
            (1, "model", "GenericFakeChatModel"),
            (1, "chain", "StrOutputParser"),
        ] == tree(events, root)
        assert {"question": QUESTION} == root.inputs
        assert {"result": "Paris."} == root.outputs
        prompt = events.one(event_name="ChatPromptTemplate")
        messages = [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": QUESTION},
        ]
        assert {"messages": messages} == prompt.outputs
        model = events.one(ModelEvent)
        assert messages == model.messages
        assert {"role": "assistant", "content": "Paris."} == model.response
        assert "fake-model-1" == model.model
        assert "genericfakechatmodel" == model.provider
        assert (11, 3, 14) == (
            model.usage.prompt_tokens,
            model.usage.completion_tokens,
            model.usage.total_tokens,
        )
        assert "stop" == (model.metadata or {})["finish_reason"]
        parser = events.one(event_name="StrOutputParser")
        assert {"input": {"role": "assistant", "content": "Paris."}} == parser.inputs
        # Step position tags are LangChain's bookkeeping, not the user's.
        assert all("tags" not in (b.get("metadata") or {}) for b in bodies)

    @pytest.mark.parametrize("kind", ["sync", "async"])
    def test_a_top_level_run_hangs_under_the_traced_function(self, kind: str) -> None:
        chain = PROMPT | fake_model()

        @hh.trace_chain
        def answer(question: str) -> str:
            return str(chain.invoke({"question": question}, config=config()).content)

        @hh.trace_chain(event_name="answer")
        async def answer_async(question: str) -> str:
            found = await chain.ainvoke({"question": question}, config=config())
            return str(found.content)

        with capture_events() as events:
            if kind == "sync":
                answer(QUESTION)
            else:
                asyncio.run(answer_async(QUESTION))

        outer = events.one(event_name="answer")
        sequence = events.one(event_name="RunnableSequence")
        assert outer.event_id == sequence.parent_id
        assert [sequence.event_id] == outer.children_ids

    def test_user_tags_and_metadata_are_kept(self) -> None:
        run_config = {
            "callbacks": [CallbackHandler()],
            "tags": ["beta"],
            "metadata": {"user_id": "u-1"},
            "run_name": "answer-question",
        }
        with capture_events() as events:
            (PROMPT | fake_model()).invoke({"question": QUESTION}, config=run_config)  # type: ignore[arg-type]
        root = events.one(event_name="answer-question")
        assert {"user_id": "u-1", "tags": ["beta"]} == root.metadata

    def test_async_chain_and_stream_record_the_same_tree(self) -> None:
        async def run() -> tuple[str, list[str]]:
            chain = PROMPT | fake_model("Paris.", "Lyon.") | StrOutputParser()
            first = await chain.ainvoke({"question": QUESTION}, config=config())
            parts = [p async for p in chain.astream({"question": QUESTION}, config=config())]
            return first, parts

        with capture_events() as events:
            first, parts = asyncio.run(run())

        assert "Paris." == first
        assert "Lyon." == "".join(parts)
        valid_bodies(events)
        roots = events.find(event_name="RunnableSequence")
        assert 2 == len(roots)
        for root in roots:
            assert [
                (0, "chain", "RunnableSequence"),
                (1, "chain", "ChatPromptTemplate"),
                (1, "model", "GenericFakeChatModel"),
                (1, "chain", "StrOutputParser"),
            ] == tree(events, root)
        streamed = [e for e in events.find(ModelEvent) if "time_to_first_token_ms" in e.metadata]  # type: ignore[operator]
        assert 1 == len(streamed)
        assert {"role": "assistant", "content": "Lyon."} == streamed[0].response
        assert 0 <= streamed[0].metadata["time_to_first_token_ms"] <= streamed[0].duration  # type: ignore[index]

    def test_a_batch_makes_one_tree_per_input(self) -> None:
        chain = PROMPT | fake_model("A.", "B.", "C.") | StrOutputParser()
        questions = [{"question": q} for q in ("one", "two", "three")]
        with capture_events() as events:
            answers = chain.batch(questions, config=config())

        assert ["A.", "B.", "C."] == sorted(answers)
        roots = events.find(event_name="RunnableSequence")
        assert 3 == len(roots)
        assert {"one", "two", "three"} == {r.inputs["question"] for r in roots}
        for root in roots:
            children = events.children(root)
            assert 3 == len(children)
            prompt = children[0]
            assert root.inputs["question"] == prompt.inputs["question"]

    def test_a_text_llm_run_is_a_model_event(self) -> None:
        llm = FakeListLLM(responses=["Paris."])
        with capture_events() as events:
            assert "Paris." == llm.invoke(QUESTION, config=config())

        valid_bodies(events)
        event = events.one(ModelEvent)
        assert "FakeListLLM" == event.event_name
        assert [{"role": "user", "content": QUESTION}] == event.messages
        assert {"role": "assistant", "content": "Paris."} == event.response

    def test_tools_and_retrievers_are_tool_events(self) -> None:
        with capture_events() as events:
            assert "sunny in Paris" == get_weather.invoke({"city": "Paris"}, config=config())
            found = Docs().invoke("capital", config=config())

        assert 2 == len(found)
        valid_bodies(events)
        weather = events.one(event_name="get_weather")
        assert ("tool", {"city": "Paris"}, {"result": "sunny in Paris"}) == (
            weather.event_type,
            weather.inputs,
            weather.outputs,
        )
        docs = events.one(event_name="Docs")
        assert "tool" == docs.event_type
        assert {"query": "capital"} == docs.inputs
        assert {
            "documents": [
                {"page_content": "capital: Paris", "metadata": {"source": "atlas"}, "id": "d1"},
                {"page_content": "France is in Europe", "metadata": {}},
            ]
        } == docs.outputs
        assert "retriever" == (docs.metadata or {})["run_type"]

    def test_a_failing_tool_records_its_error_and_raises_it_unchanged(self) -> None:
        raised: list[BaseException] = []

        @tool
        def lookup(key: str) -> str:
            """Look a key up."""
            error = KeyError(key)
            raised.append(error)
            raise error

        chain = PROMPT | fake_model() | (lambda message: lookup.invoke({"key": "missing"}))
        with capture_events() as events:
            with pytest.raises(KeyError) as caught:
                chain.invoke({"question": QUESTION}, config=config())

        assert raised == [caught.value]
        failed = events.one(event_name="lookup")
        assert "KeyError: 'missing'" == failed.error
        assert "KeyError: 'missing'" == events.one(event_name="RunnableSequence").error
        assert events.one(ModelEvent).error is None

    def test_nothing_is_recorded_and_nothing_breaks_when_tracing_is_off(
        self, configure: Any, collector: Collector
    ) -> None:
        configure(enabled=False)
        handler = CallbackHandler()
        answer = (PROMPT | fake_model() | StrOutputParser()).invoke(
            {"question": QUESTION}, config={"callbacks": [handler]}
        )
        assert "Paris." == answer
        assert hh.flush(10)
        assert [] == collector.events()
        assert "<CallbackHandler open_runs=0>" == repr(handler)

    def test_a_tracing_failure_is_counted_never_raised_into_langchain(self) -> None:
        class Unreadable:
            @property
            def generations(self) -> Any:
                raise RuntimeError("not a result")

        handler = CallbackHandler()
        run_id = uuid.uuid4()
        with capture_events(strict=False) as events:
            handler.on_chat_model_start({}, [[]], run_id=run_id)
            assert handler.on_llm_end(Unreadable(), run_id=run_id) is None  # type: ignore[arg-type]
            assert 1 == hh.stats()["internal_errors"]
            # The run stays open; an error afterwards still ends its event.
            handler.on_llm_error(ValueError("late"), run_id=run_id)
        assert "ValueError: late" == events.one(ModelEvent).error

    def test_runs_langchain_hides_are_skipped_and_their_children_kept(self) -> None:
        handler = CallbackHandler()
        outer, hidden, inner = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        with capture_events() as events:
            handler.on_chain_start({}, {"q": 1}, run_id=outer, name="outer")
            handler.on_chain_start(
                {}, {"q": 1}, run_id=hidden, parent_run_id=outer, tags=["langsmith:hidden"]
            )
            handler.on_tool_start({}, "x", run_id=inner, parent_run_id=hidden, name="inner")
            handler.on_tool_end("done", run_id=inner, parent_run_id=hidden)
            handler.on_chain_end({}, run_id=hidden, parent_run_id=outer)
            handler.on_chain_end({"a": 2}, run_id=outer)

        assert ["inner", "outer"] == [e.event_name for e in events]
        assert events[1].event_id == events[0].parent_id
        assert {"input": "x"} == events[0].inputs
        assert "<CallbackHandler open_runs=0>" == repr(handler)


class State(TypedDict, total=False):
    question: str
    draft: str
    answer: str


def graph(model: GenericFakeChatModel) -> Any:
    def draft(state: State) -> State:
        return {"draft": str(model.invoke(state["question"]).content)}

    def polish(state: State) -> State:
        return {"answer": state["draft"].upper()}

    builder = StateGraph(State)
    builder.add_node("draft", draft)
    builder.add_node("polish", polish)
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "polish")
    builder.add_edge("polish", END)
    return builder.compile()


GRAPH_TREE = [
    (0, "chain", "LangGraph"),
    (1, "chain", "draft"),
    (2, "model", "GenericFakeChatModel"),
    (1, "chain", "polish"),
]


class TestLangGraph:
    def test_a_two_node_graph_is_one_tree_sync_async_and_streamed(self) -> None:
        app = graph(fake_model("Paris.", "Lyon.", "Nice."))

        async def run_async() -> Any:
            return await app.ainvoke({"question": QUESTION}, config=config())

        with capture_events() as events:
            first = app.invoke({"question": QUESTION}, config=config())
            second = asyncio.run(run_async())
            chunks = list(app.stream({"question": QUESTION}, config=config()))

        assert "PARIS." == first["answer"]
        assert "LYON." == second["answer"]
        assert {"polish": {"answer": "NICE."}} == chunks[-1]
        valid_bodies(events)
        roots = events.find(event_name="LangGraph")
        assert 3 == len(roots)
        for root in roots:
            assert GRAPH_TREE == tree(events, root)
            assert root.parent_id is None
        draft = events.find(event_name="draft")[0]
        assert {"question": QUESTION} == draft.inputs
        assert {"draft": "Paris."} == draft.outputs
        assert {"langgraph_node": "draft", "langgraph_step": 1} == draft.metadata
        polish = events.find(event_name="polish")[0]
        assert {"answer": "PARIS."} == polish.outputs

    def test_a_failing_node_records_the_error_on_node_and_graph(self) -> None:
        boom = RuntimeError("node failed")

        def fail(state: State) -> State:
            raise boom

        builder = StateGraph(State)
        builder.add_node("fail", fail)
        builder.add_edge(START, "fail")
        app = builder.compile()
        with capture_events() as events:
            with pytest.raises(RuntimeError) as caught:
                app.invoke({"question": QUESTION}, config=config())

        assert boom is caught.value
        assert "RuntimeError: node failed" == events.one(event_name="fail").error
        assert "RuntimeError: node failed" == events.one(event_name="LangGraph").error

    def test_an_interrupt_is_not_an_error(self) -> None:
        def ask(state: State) -> State:
            return {"answer": interrupt("approve?")}

        builder = StateGraph(State)
        builder.add_node("ask", ask)
        builder.add_edge(START, "ask")
        app = builder.compile(checkpointer=InMemorySaver())
        run_config: Any = {"callbacks": [CallbackHandler()], "configurable": {"thread_id": "t1"}}
        with capture_events() as events:
            paused = app.invoke({"question": QUESTION}, config=run_config)
            resumed = app.invoke(Command(resume="yes"), config=run_config)

        assert "__interrupt__" in paused
        assert "yes" == resumed["answer"]
        first, second = events.find(event_name="ask")
        assert (None, "GraphInterrupt") == (first.error, (first.metadata or {})["interrupted"])
        assert {"answer": "yes"} == second.outputs
        assert all(e.error is None for e in events)


class TestNesting:
    """What a tool's or a node's own code traces hangs under that run's event."""

    def test_a_traced_function_inside_a_tool_hangs_under_the_tool(self) -> None:
        @hh.trace_tool
        def fetch(city: str) -> str:
            return f"data for {city}"

        @tool
        def forecast(city: str) -> str:
            """The forecast for a city."""
            return fetch(city)

        async def run_async() -> Any:
            return await forecast.ainvoke({"city": "Nice"}, config=config())

        with capture_events() as events:
            with hh.session(name="s") as session:
                assert "data for Paris" == forecast.invoke({"city": "Paris"}, config=config())
                assert hh.current_event() is None
                assert "data for Nice" == asyncio.run(run_async())
                assert hh.current_event() is None
                assert session is hh.current_session()

        outer = events.find(event_name="forecast")
        inner = events.find(event_name="fetch")
        assert [o.event_id for o in outer] == [i.parent_id for i in inner]
        assert {session.session_id} == {e.session_id for e in events}

    def test_a_wrapped_client_in_a_graph_node_hangs_under_the_node(
        self, provider: FakeProvider
    ) -> None:
        client = wrap_openai(
            openai.OpenAI(base_url=provider.openai_url, api_key="sk-test", max_retries=0)
        )

        def draft(state: State) -> State:
            completion = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": state["question"]}]
            )
            return {"draft": completion.choices[0].message.content or ""}

        builder = StateGraph(State)
        builder.add_node("draft", draft)
        builder.add_edge(START, "draft")
        app = builder.compile()
        provider.queue(openai_chat("Paris."), openai_chat("Lyon."))

        @hh.trace_chain
        def outer() -> Any:
            before = hh.current_event()
            first = app.invoke({"question": QUESTION}, config=config())
            after = hh.current_event()
            streamed = list(app.stream({"question": QUESTION}, config=config()))
            return first, streamed, [before, after, hh.current_event()]

        with capture_events() as events:
            first, streamed, currents = outer()

        assert "Paris." == first["draft"]
        assert {"draft": {"draft": "Lyon."}} == streamed[-1]
        # The traced function's event is current again after each run.
        assert currents[0] is not None
        assert [currents[0]] * 3 == currents
        nodes = events.find(event_name="draft")
        calls = events.find(event_name="openai.chat.completions.create")
        assert 2 == len(calls)
        assert [n.event_id for n in nodes] == [c.parent_id for c in calls]
        assert (12, 5) == (calls[0].usage.prompt_tokens, calls[0].usage.completion_tokens)  # type: ignore[attr-defined]


# -- ChatOpenAI (langchain-openai) against the fake OpenAI provider ------------------------


@pytest.fixture
def chat(provider: FakeProvider) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4o",
        base_url=provider.openai_url,
        api_key="sk-test",  # type: ignore[arg-type]
        max_retries=0,
        timeout=10,
        temperature=0.2,
        stream_usage=True,
    )


@pytest.mark.usefixtures("traced")
class TestChatOpenAI:
    @pytest.fixture
    def traced(self, configure: Any) -> None:
        configure()

    def test_a_call_records_model_usage_and_cost_on_the_wire(
        self, provider: FakeProvider, chat: ChatOpenAI, collector: Collector
    ) -> None:
        provider.queue(openai_chat("Paris."))
        assert "Paris." == chat.invoke(QUESTION, config=config()).content
        assert hh.flush(10)

        [event] = recorded(collector)
        assert {
            "project": "test-project",
            "event_name": "ChatOpenAI",
            "model": "gpt-4o-2024-08-06",
            "provider": "openai",
            "messages": [{"role": "user", "content": QUESTION}],
            "response": {"role": "assistant", "content": "Paris."},
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
            "cost": pytest.approx((12 * 2.50 + 5 * 10.00) / 1e6),
            "hyperparameters": {"temperature": 0.2},
            "metadata": {"finish_reason": "stop"},
        } == {k: v for k, v in event.items() if v is not None and k != "session_id"}
        assert "/v1/chat/completions" == provider.requests[0].path

    def test_async_streamed_and_tool_calls(self, provider: FakeProvider, chat: ChatOpenAI) -> None:
        call = tool_call("call_1", "get_weather", '{"city": "Paris"}')
        provider.queue(
            openai_chat(None, tool_calls=[call], usage=openai_usage(30, 9, cached=16)),
            openai_chat_stream(["Sunny ", "in Paris."], usage=openai_usage(40, 4)),
        )

        async def run() -> tuple[Any, str]:
            decided = await chat.bind_tools([get_weather]).ainvoke(QUESTION, config=config())
            parts = [c.content async for c in chat.astream("Weather?", config=config())]
            return decided, "".join(str(p) for p in parts)

        with capture_events() as events:
            decided, streamed = asyncio.run(run())

        assert [{"name": "get_weather", "args": {"city": "Paris"}}] == [
            {"name": c["name"], "args": c["args"]} for c in decided.tool_calls
        ]
        assert "Sunny in Paris." == streamed
        valid_bodies(events)
        first, second = events
        assert isinstance(first, ModelEvent)
        assert isinstance(second, ModelEvent)
        assert [call] == first.response["tool_calls"]
        assert "get_weather" == first.tools[0]["function"]["name"]  # type: ignore[index]
        assert {"finish_reason": "tool_calls", "cached_tokens": 16} == first.metadata
        assert (30, 9) == (first.usage.prompt_tokens, first.usage.completion_tokens)
        assert {"role": "assistant", "content": "Sunny in Paris."} == second.response
        assert (40, 4, 44) == (
            second.usage.prompt_tokens,
            second.usage.completion_tokens,
            second.usage.total_tokens,
        )
        assert "time_to_first_token_ms" in second.metadata  # type: ignore[operator]

    @pytest.mark.parametrize(
        ("status", "kind", "sdk_error"),
        [
            (429, "rate_limit_exceeded", openai.RateLimitError),
            (500, "server_error", openai.InternalServerError),
            (400, "invalid_request_error", openai.BadRequestError),
        ],
    )
    def test_provider_errors_are_recorded_and_raised_unchanged(
        self, provider: FakeProvider, chat: ChatOpenAI, status: int, kind: str, sdk_error: Any
    ) -> None:
        provider.queue(openai_error(status, f"failed with {status}", kind))
        with capture_events() as events:
            with pytest.raises(sdk_error) as caught:
                chat.invoke(QUESTION, config=config())

        # The handler is a bystander: what LangChain raises without it, it raises with it.
        provider.queue(openai_error(status, f"failed with {status}", kind))
        with pytest.raises(sdk_error) as untraced:
            chat.invoke(QUESTION)
        assert type(untraced.value) is type(caught.value)
        assert str(untraced.value) == str(caught.value)
        assert status == caught.value.status_code
        event = events.one(ModelEvent)
        assert f"{type(caught.value).__name__}: {caught.value}" == event.error
        assert [{"role": "user", "content": QUESTION}] == event.messages


def test_import_honeyhive_trace_loads_no_framework() -> None:
    code = (
        "import sys, honeyhive_trace, honeyhive_trace.integrations\n"
        "print([m for m in ('langchain_core', 'langgraph', 'agents',"
        " 'honeyhive_trace.integrations.langchain', 'honeyhive_trace.integrations.openai_agents')"
        " if m in sys.modules])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "[]" == done.stdout.strip()
