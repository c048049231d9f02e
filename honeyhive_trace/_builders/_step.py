"""The record of an ended ``tool`` or ``chain`` step (``POST /events``), as its keywords."""

from __future__ import annotations

import logging
from typing import Any

from honeyhive_trace import _shapes as shapes
from honeyhive_trace._builders._args import bound_arguments, copied, routed
from honeyhive_trace._builders._model import event_metadata, identity
from honeyhive_trace._config import Config
from honeyhive_trace._errors import ErrorGuard
from honeyhive_trace._providers import Registry
from honeyhive_trace.capture import EndedCall
from honeyhive_trace.records import Event, fields_with

__all__ = ["DEFAULT_SOURCE", "STEP_FIELDS", "step_fields"]

#: The ``source`` of events and sessions when none is configured (``POST /events``
#: and ``POST /session/start`` require one); HoneyHive's own SDK uses the same.
DEFAULT_SOURCE = "dev"

#: Fields a step has; the model fields (``usage``, ``response``, ...) are not among them.
STEP_FIELDS = frozenset(fields_with(Event, settable=True))

_UNSET = shapes.UNSET


def _outputs(ended: EndedCall, providers: Registry, guard: ErrorGuard) -> dict[str, Any] | None:
    if ended.chunks:
        assembled = providers.assemble(ended.chunks, guard)  # an SDK stream it returned
        if assembled is not None and "response" in assembled:
            return {"result": assembled["response"]}
        outputs: dict[str, Any] = {"chunks": list(ended.chunks)}
        if ended.result is not None and ended.result is not _UNSET:
            outputs["result"] = ended.result
        return outputs
    return shapes.outputs_from(ended.result)


def step_fields(
    ended: EndedCall, config: Config, providers: Registry, guard: ErrorGuard
) -> dict[str, Any]:
    """The keywords of an ended tool or chain event's record: ``Event(**fields)`` makes it.

    Precedence, lowest first: decorator defaults, the call's arguments (or the
    ``event`` keywords), what the traced code returned, then what user code
    set on the handle.
    """
    spec = ended.spec
    assert spec is not None  # a step always has a plan (decorator or event())
    fields = copied(routed(spec))
    fields.pop("hyperparameters", None)
    if spec.explicit:
        shapes.apply(fields, ended.kwargs)
    else:
        arguments = bound_arguments(spec, ended.args, ended.kwargs)
        fields["inputs"] = shapes.merge_into(fields.get("inputs"), arguments)
    outputs = _outputs(ended, providers, guard)
    if outputs is not None:
        fields["outputs"] = outputs
    if ended.updates:
        shapes.apply(fields, ended.updates)
    ignored = sorted(k for k, v in fields.items() if k not in STEP_FIELDS and shapes.given(v))
    if ignored:
        guard.report(
            f"model fields set on a {spec.event_type} event are not recorded: "
            f"{', '.join(ignored)} (use a model event)",
            counter=None,
            raise_in_strict=False,
            level=logging.WARNING,
        )

    error = fields.get("error")
    if error is None and ended.error is not None:
        error = ended.error
    source = fields.get("source") if shapes.given(fields.get("source")) else config.source
    project = fields.get("project") if shapes.given(fields.get("project")) else config.project
    event_name = fields.get("event_name")
    metadata = event_metadata(ended, fields)
    return {
        "event_type": spec.event_type,
        "project": shapes.str_field(project),
        "source": shapes.str_field(source) if shapes.given(source) else DEFAULT_SOURCE,
        "event_name": (
            shapes.str_field(event_name) if shapes.given(event_name) else spec.event_type
        ),
        **identity(ended),
        "error": shapes.error_text(error) if error is not None else None,
        "inputs": shapes.obj(fields.get("inputs"), "inputs"),
        "config": shapes.obj(fields.get("config"), "config"),
        "outputs": shapes.outputs_from(fields.get("outputs")),
        "metadata": metadata or None,
        "metrics": shapes.optional(fields, "metrics", shapes.obj),
        "feedback": shapes.optional(fields, "feedback", shapes.obj),
        "user_properties": shapes.optional(fields, "user_properties", shapes.obj),
    }
