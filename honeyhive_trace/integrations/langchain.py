"""LangChain and LangGraph: a callback handler that records runs as events.

::

    from honeyhive_trace.integrations.langchain import CallbackHandler

    chain.invoke({"question": q}, config={"callbacks": [CallbackHandler()]})

Chat-model and LLM runs become ``model`` events, tools and retrievers ``tool``
events, chains, runnables and graph nodes ``chain`` events, each under the
event of its parent run. A run started with no parent hangs under the
event or session current where it started (a ``@hh.trace_chain`` function, a
``with hh.session(...)`` block), so LangChain's tree joins the rest of the trace.

Importing this module imports ``langchain_core`` (the ``[langchain]`` extra);
``import honeyhive_trace`` never does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from honeyhive_trace.integrations import _langchain_read as read
from honeyhive_trace.integrations._runs import Runs, guarded

if TYPE_CHECKING:
    from langchain_core.documents import Document
    from langchain_core.messages import BaseMessage
    from langchain_core.outputs import LLMResult

__all__ = ["CallbackHandler"]

#: LangChain's tag of runs it keeps out of traces (internal steps).
HIDDEN_TAG = "langsmith:hidden"


class CallbackHandler(BaseCallbackHandler):
    """Record LangChain (and LangGraph) runs as HoneyHive events.

    Pass it in a run's config (``config={"callbacks": [CallbackHandler()]}``)
    or to a model, chain or graph's ``callbacks``. One handler may serve many
    runs, concurrent ones included, sync or async.

    What becomes what:

    - chat model and LLM runs: ``model`` events, with the messages, the model
      name and provider, hyperparameters and tools from the invocation
      parameters, the response (with tool calls), token usage and finish
      reason, and ``metadata.time_to_first_token_ms`` when streamed;
    - tools: ``tool`` events, with their arguments as ``inputs`` and their
      result as ``outputs``;
    - retrievers: ``tool`` events with ``inputs.query`` and
      ``outputs.documents``;
    - chains, runnables and LangGraph graphs and nodes: ``chain`` events.

    While a tool, a retriever or a LangGraph node runs, its event is the
    current event, so what its own code traces (a ``@hh.trace_tool``
    function, a wrapped client) hangs under it.

    A run's error is recorded on its event; LangChain raises it as before.
    LangGraph's interrupts are not errors: they end the event with
    ``metadata.interrupted``. Runs LangChain tags ``langsmith:hidden`` are not
    recorded (their children hang under their parent).
    """

    #: Called on the caller's thread or event loop, not in an executor: the
    #: events then see the caller's context (its current event and session),
    #: and recording costs microseconds, never I/O.
    run_inline = True

    def __init__(self) -> None:
        super().__init__()
        self._runs = Runs()
        self._streamed: set[UUID] = set()

    def __repr__(self) -> str:
        return f"<CallbackHandler open_runs={len(self._runs)}>"

    # -- models ------------------------------------------------------------------------

    def _start_model(
        self,
        serialized: Any,
        messages: list[Any],
        run_id: UUID,
        parent_run_id: UUID | None,
        kwargs: dict[str, Any],
    ) -> None:
        tags = kwargs.get("tags")
        if tags and HIDDEN_TAG in tags:
            self._runs.skip(run_id, parent_run_id)
            return
        fields = read.model_start_fields(serialized, messages, kwargs)
        self._runs.open(run_id, parent_run_id, "model", fields)

    @guarded("langchain: could not record a chat model run")
    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Start the model event of a chat model run."""
        given = [read.message_dict(m) for m in (messages[0] if messages else [])]
        self._start_model(
            serialized,
            given,
            run_id,
            parent_run_id,
            {**kwargs, "tags": tags, "metadata": metadata},
        )

    @guarded("langchain: could not record an LLM run")
    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Start the model event of a (text completion) LLM run."""
        given = [{"role": "user", "content": p} for p in prompts]
        self._start_model(
            serialized,
            given,
            run_id,
            parent_run_id,
            {**kwargs, "tags": tags, "metadata": metadata},
        )

    @guarded("langchain: could not record a streamed token")
    def on_llm_new_token(
        self,
        token: Any,
        *,
        chunk: Any = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> Any:
        """Note when the first token of a streamed model run came."""
        if run_id in self._streamed:
            return
        handle = self._runs.get(run_id)
        if handle is None:
            return
        self._streamed.add(run_id)
        elapsed = (perf_counter_ns() - handle._start_ns) / 1e6
        handle.add_metadata(time_to_first_token_ms=round(elapsed, 3))

    @guarded("langchain: could not record the end of a model run")
    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> Any:
        """End the model event with the response, usage and finish reason."""
        self._streamed.discard(run_id)
        if self._runs.unskip(run_id):
            return
        handle = self._runs.get(run_id)
        if handle is None:
            return
        fields = read.result_fields(response)
        metadata = fields.pop("metadata", None)
        if metadata:
            handle.add_metadata(metadata)
        handle.update(**fields)
        self._runs.close(run_id)

    @guarded("langchain: could not record the error of a model run")
    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> Any:
        """End the model event with the error."""
        self._streamed.discard(run_id)
        self._end(run_id, error=error)

    # -- chains, tools, retrievers ---------------------------------------------------------

    def _end(self, run_id: UUID, result: Any = None, error: BaseException | None = None) -> None:
        if self._runs.unskip(run_id):
            return
        if error is not None and read.is_control_flow(error):
            handle = self._runs.get(run_id)
            if handle is not None:
                handle.add_metadata(interrupted=type(error).__name__)
            self._runs.close(run_id)
            return
        if error is not None:
            self._runs.close(run_id, error=error)
        else:
            self._runs.close(run_id, result)

    def _start_step(
        self,
        kind: str,
        name: str,
        inputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        extra: dict[str, Any] | None = None,
        current: bool = False,
    ) -> None:
        if tags and HIDDEN_TAG in tags:
            self._runs.skip(run_id, parent_run_id)
            return
        fields: dict[str, Any] = {"event_name": name, "inputs": inputs}
        known = read.run_metadata(metadata, tags)
        if extra:
            known.update(extra)
        if known:
            fields["metadata"] = known
        self._runs.open(run_id, parent_run_id, kind, fields, current=current)

    @guarded("langchain: could not record a chain run")
    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Start the chain event of a chain, runnable or graph node."""
        name = read.run_name(serialized, kwargs, "chain")
        # A graph node runs the user's function between its start and end
        # callbacks, in the context they are called in (a streamed chain
        # may end elsewhere, so other chains are not made current).
        node = isinstance(metadata, Mapping) and metadata.get("langgraph_node") == name
        self._start_step(
            "chain",
            name,
            read.step_inputs(inputs),
            run_id=run_id,
            parent_run_id=parent_run_id,
            tags=tags,
            metadata=metadata,
            current=node,
        )

    @guarded("langchain: could not record the end of a chain run")
    def on_chain_end(
        self,
        outputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> Any:
        """End the chain event with its outputs."""
        self._end(run_id, read.step_outputs(outputs))

    @guarded("langchain: could not record the error of a chain run")
    def on_chain_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> Any:
        """End the chain event with the error."""
        self._end(run_id, error=error)

    @guarded("langchain: could not record a tool run")
    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Start the tool event with the tool's arguments."""
        name = read.run_name(serialized, kwargs, "tool")
        given = dict(inputs) if isinstance(inputs, Mapping) else {"input": input_str}
        call_id = kwargs.get("tool_call_id")
        extra = {"tool_call_id": call_id} if call_id else None
        self._start_step(
            "tool",
            name,
            given,
            run_id=run_id,
            parent_run_id=parent_run_id,
            tags=tags,
            metadata=metadata,
            extra=extra,
            current=True,
        )

    @guarded("langchain: could not record the end of a tool run")
    def on_tool_end(
        self,
        output: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> Any:
        """End the tool event with what it returned (a ToolMessage's content)."""
        if type(output).__name__ in ("ToolMessage", "ToolMessageChunk"):
            output = getattr(output, "content", output)
        self._end(run_id, read.step_outputs(output))

    @guarded("langchain: could not record the error of a tool run")
    def on_tool_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> Any:
        """End the tool event with the error."""
        self._end(run_id, error=error)

    @guarded("langchain: could not record a retriever run")
    def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Start the tool event of a retrieval, with its query."""
        name = read.run_name(serialized, kwargs, "retriever")
        extra = {"run_type": "retriever"}
        self._start_step(
            "tool",
            name,
            {"query": query},
            run_id=run_id,
            parent_run_id=parent_run_id,
            tags=tags,
            metadata=metadata,
            extra=extra,
            current=True,
        )

    @guarded("langchain: could not record the end of a retriever run")
    def on_retriever_end(
        self,
        documents: Sequence[Document],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> Any:
        """End the retrieval's event with the documents found."""
        self._end(run_id, {"documents": read.documents(documents)})

    @guarded("langchain: could not record the error of a retriever run")
    def on_retriever_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> Any:
        """End the retrieval's event with the error."""
        self._end(run_id, error=error)
