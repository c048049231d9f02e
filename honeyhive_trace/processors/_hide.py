"""The :func:`hide_inputs` and :func:`hide_outputs` processors."""

from __future__ import annotations

import attrs

from honeyhive_trace.processors._base import fail_closed
from honeyhive_trace.records import EventUpdate, ModelEvent, Record

__all__ = ["hide_inputs", "hide_outputs"]

# -- hide inputs / outputs ----------------------------------------------------------------


@fail_closed
def hide_inputs(event: Record) -> Record:
    """Blank what went in: ``messages``, ``inputs``, ``template``, ...

    A ready-made processor (``processors=[hide_inputs]``), the counterpart of
    LangSmith's ``hide_inputs=True``. On a model event ``messages`` becomes
    ``[]`` (it is required, so it stays present), and ``inputs``,
    ``template``, ``template_inputs`` and ``tools``, where set, become empty;
    on a tool or chain event and a session's start, ``inputs`` becomes ``{}``.
    Model, usage, timing, hyperparameters, metadata and what came out are
    kept; updates carry no inputs. Marked :func:`fail_closed`.

    Args:
        event: the finished record.

    Returns:
        A copy with the inputs blanked.
    """
    if isinstance(event, EventUpdate):
        return event
    if not isinstance(event, ModelEvent):
        return attrs.evolve(event, inputs={})
    return attrs.evolve(
        event,
        messages=[],
        inputs={} if event.inputs is not None else None,
        template=[] if event.template is not None else None,
        template_inputs={} if event.template_inputs is not None else None,
        tools=[] if event.tools is not None else None,
    )


@fail_closed
def hide_outputs(event: Record) -> Record:
    """Blank what came out: a model's ``response`` becomes ``{}``, ``outputs`` too.

    A ready-made processor (``processors=[hide_outputs]``), the counterpart of
    LangSmith's ``hide_outputs=True``; ``outputs`` of any record (a step's, an
    update's), where set, become ``{}``. Usage, cost and ``error`` are kept
    (use :func:`redact` for secrets in error messages). Marked :func:`fail_closed`.

    Args:
        event: the finished record.

    Returns:
        A copy with the outputs blanked.
    """
    outputs: dict[str, object] | None = {} if event.outputs is not None else None
    if isinstance(event, ModelEvent):
        return attrs.evolve(event, response={}, outputs=outputs)
    return attrs.evolve(event, outputs=outputs)
