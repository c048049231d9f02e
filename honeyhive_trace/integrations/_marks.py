"""How a plain dict shows it may be a built-in provider's response, without importing the readers.

Imported by :mod:`honeyhive_trace.integrations` (which checks a dict before it
imports the readers for it) and by :mod:`~honeyhive_trace.integrations._builtin`
(which checks it before asking all four).
"""

from __future__ import annotations

__all__ = ["BUILTIN_DICT_KEYS"]

#: The keys by which the built-in readers tell a plain dict is theirs: OpenAI's
#: ``object``/``choices``, Anthropic's ``type``, Gemini's ``candidates``/
#: ``promptFeedback``/``prompt_feedback``, Bedrock's ``output``. A dict with
#: none of them (what most traced functions return) is no provider's response:
#: that saves importing the readers for it (about 50 ms of CPU, the first
#: time) and asking all four (about 2 us an event). Keep it in step with them
#: (``tests/test_builtin_dicts.py`` checks).
BUILTIN_DICT_KEYS = frozenset(
    {"object", "choices", "type", "candidates", "promptFeedback", "prompt_feedback", "output"}
)
