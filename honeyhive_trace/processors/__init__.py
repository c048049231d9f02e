"""Processors: plain functions run on each finished event before it is sent.

A processor takes a finished record (see :data:`~honeyhive_trace.records.Record`:
a :class:`~honeyhive_trace.records.ModelEvent`, a tool or chain
:class:`~honeyhive_trace.records.Event`, a
:class:`~honeyhive_trace.records.SessionStart` or an
:class:`~honeyhive_trace.records.EventUpdate`) and returns a record of the same
class (the same one, or a changed copy made with :func:`attrs.evolve`) or
``None`` to drop it. Everything the library sends goes through them, so a
privacy processor also sees session inputs and feedback logged after the
fact; a processor meant for model events only checks
``isinstance(event, ModelEvent)`` first. ``configure(processors=[...])``
runs them in order on the worker thread in background mode (the default), not
on the traced call's thread; in inline mode everything, processors included,
runs on the caller's thread::

    import honeyhive_trace as hh
    from honeyhive_trace.processors import hide_inputs, redact, sample, truncate

    hh.configure(processors=[sample(0.1), redact(fields=["user_email"]), truncate(4000)])

(Sampling first saves redacting events that are dropped anyway.)

Built in:

- :func:`redact` replaces secrets (API keys, bearer tokens, AWS keys, GitHub
  tokens, JWTs, ...), e-mail addresses, your own patterns, and the values of
  keys you name.
- :func:`truncate` shortens long strings and records their original lengths.
- :func:`sample` keeps a share of sessions, whole sessions at a time.
- :func:`hide_inputs` and :func:`hide_outputs` blank what went into and came
  out of the model, like LangSmith's ``hide_inputs``/``hide_outputs`` options.

When a processor raises, the error is logged and counted
(``stats()["processor_errors"]``) and the event goes on as the previous
processor left it, so a bug in an optional enrichment cannot lose data. A
processor marked with :func:`fail_closed` (every built-in privacy processor
is) instead drops the event, counted as ``dropped_processor_error``: an event
that could not be redacted is never sent unredacted.

Processors that look inside values walk the record's free-form fields
(on a model event: ``messages``, ``response``, ``inputs``, ``outputs``, ``config``, ``metadata``,
``metrics``, ``feedback``, ``user_properties``, ``hyperparameters``, ``template``,
``template_inputs``, ``tools``, ``response_format``) and its optional text fields
(``error``, ``source``, ``event_name``, ``tool_choice``), as the record's field
roles declare them, through nested dicts and lists. They first turn each field
into its JSON form (what would be sent: objects become dicts or their
``repr``), so a secret inside an SDK object or an exception message is found too.
"""

from __future__ import annotations

from honeyhive_trace.processors._base import Processor, fail_closed
from honeyhive_trace.processors._hide import hide_inputs, hide_outputs
from honeyhive_trace.processors._redact import SECRET_KEYS, redact
from honeyhive_trace.processors._sample import sample
from honeyhive_trace.processors._truncate import truncate

__all__ = [
    "SECRET_KEYS",
    "Processor",
    "fail_closed",
    "hide_inputs",
    "hide_outputs",
    "redact",
    "sample",
    "truncate",
]
