"""The :func:`hide_inputs` and :func:`hide_outputs` processors."""

from __future__ import annotations

import attrs

from honeyhive_trace.processors._base import fail_closed
from honeyhive_trace.records import ModelEvent

__all__ = ["hide_inputs", "hide_outputs"]

# -- hide inputs / outputs ----------------------------------------------------------------


@fail_closed
def hide_inputs(event: ModelEvent) -> ModelEvent:
    """Blank what went into the model: ``messages``, ``inputs``, ``template``, ...

    A ready-made processor (``processors=[hide_inputs]``), the counterpart of
    LangSmith's ``hide_inputs=True``: ``messages`` becomes ``[]`` (it is
    required, so it stays present), and ``inputs``, ``template``,
    ``template_inputs`` and ``tools``, where set, become empty. Model, usage,
    timing, hyperparameters, metadata and the response are kept. Marked
    :func:`fail_closed`.

    Args:
        event: the finished event.

    Returns:
        A copy with the inputs blanked.
    """
    return attrs.evolve(
        event,
        messages=[],
        inputs={} if event.inputs is not None else None,
        template=[] if event.template is not None else None,
        template_inputs={} if event.template_inputs is not None else None,
        tools=[] if event.tools is not None else None,
    )


@fail_closed
def hide_outputs(event: ModelEvent) -> ModelEvent:
    """Blank what came out of the model: ``response`` becomes ``{}``.

    A ready-made processor (``processors=[hide_outputs]``), the counterpart of
    LangSmith's ``hide_outputs=True``. Usage, cost and ``error`` are kept (use
    :func:`redact` for secrets in error messages). Marked :func:`fail_closed`.

    Args:
        event: the finished event.

    Returns:
        A copy with the response blanked.
    """
    return attrs.evolve(event, response={})
