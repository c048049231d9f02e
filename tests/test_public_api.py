"""The public surface, pinned: changing a public name must be a deliberate act.

Adding or removing a name fails these tests until the lists below, the
documentation (``docs/reference/``) and the changelog are updated with it.
Every public function, class and method must also carry a docstring and type
hints, so that the reference documentation and type checkers see the same API.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

import honeyhive_trace as hh
from honeyhive_trace import exceptions

#: module -> its ``__all__``, sorted.
PUBLIC: dict[str, list[str]] = {
    "honeyhive_trace": [
        "ConfigurationError",
        "EventHandle",
        "HoneyHiveTraceError",
        "ModelEvent",
        "Session",
        "Thread",
        "ThreadPoolExecutor",
        "TracingError",
        "TracingWarning",
        "Usage",
        "__version__",
        "configure",
        "continue_trace",
        "copy_context_to",
        "current_event",
        "current_session",
        "enrich_session",
        "event",
        "flush",
        "flush_after",
        "health",
        "instrument_http",
        "log_feedback",
        "model_event",
        "propagation_headers",
        "session",
        "shutdown",
        "stats",
        "trace",
        "trace_chain",
        "trace_model",
        "trace_tool",
        "uninstrument_http",
        "update_event",
    ],
    "honeyhive_trace.records": [
        "EVENT_TYPES",
        "Event",
        "EventUpdate",
        "ModelEvent",
        "OPTIONAL_FIELDS",
        "REQUIRED_FIELDS",
        "Record",
        "Role",
        "SessionStart",
        "Usage",
        "fields_with",
        "role",
    ],
    "honeyhive_trace.exceptions": [
        "ConfigurationError",
        "HoneyHiveTraceError",
        "TracingError",
        "TracingWarning",
    ],
    "honeyhive_trace.processors": [
        "Processor",
        "SECRET_KEYS",
        "fail_closed",
        "hide_inputs",
        "hide_outputs",
        "redact",
        "sample",
        "truncate",
    ],
    "honeyhive_trace.testing": ["CapturedEvents", "capture_events"],
    "honeyhive_trace.middleware": ["ASGIMiddleware", "EventName", "WSGIMiddleware"],
    "honeyhive_trace.http_clients": [
        "httpx_event_hooks",
        "instrument_http",
        "propagating_adapter",
        "uninstrument_http",
    ],
    "honeyhive_trace.integrations": [
        "CHUNK_ASSEMBLERS",
        "ChunkAssembler",
        "DEFAULT",
        "EXTRACTORS",
        "Extractor",
        "STREAM_DETECTORS",
        "StreamDetector",
        "StreamWrapper",
        "assemble_chunks",
        "complete_fields",
        "extract_response",
        "register_extractor",
        "sdk_stream_factory",
        "stream_wrapper",
        "wrap_anthropic",
        "wrap_openai",
    ],
    "honeyhive_trace.integrations.openai": [
        "CHAT_COMPLETION",
        "CHAT_COMPLETION_CHUNK",
        "RESPONSE",
        "TEXT_COMPLETION",
        "assemble",
        "extract",
        "kind",
        "request_fields",
        "wrap_openai",
    ],
    "honeyhive_trace.integrations.anthropic": [
        "assemble",
        "extract",
        "is_message",
        "request_fields",
        "wrap_anthropic",
    ],
    "honeyhive_trace.otel": [
        "OTEL_EXTRA",
        "SpanProcessor",
        "event_id_for_span",
        "require_otel",
        "session_id_for_trace",
        "span_bytes",
        "span_id_of",
        "trace_id_of",
    ],
    "honeyhive_trace.integrations.gemini": [
        "assemble",
        "extract",
        "request_fields",
        "wrap_gemini",
    ],
    "honeyhive_trace.integrations.bedrock": [
        "TracedEventStream",
        "assemble",
        "extract",
        "request_fields",
        "wrap_bedrock",
    ],
    "honeyhive_trace.integrations.litellm": [
        "acompletion",
        "assemble",
        "completion",
        "extract",
        "request_fields",
    ],
    "honeyhive_trace.collector": [
        "Collector",
        "EventQuery",
        "EventStore",
        "Fault",
        "Faults",
        "MAX_LIMIT",
        "RecordedRequest",
        "StoreError",
        "ValidationError",
        "default_db_path",
        "is_loopback",
        "make_app",
    ],
}


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


def _public_objects() -> Iterator[tuple[str, Any]]:
    """(qualified name, object) of every public function and class, once each."""
    seen: set[int] = set()
    for module_name, names in PUBLIC.items():
        module = _module(module_name)
        for name in names:
            obj = getattr(module, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and id(obj) not in seen:
                seen.add(id(obj))
                yield f"{module_name}.{name}", obj


def _public_methods(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    """The functions a class defines itself that users call: public names and ``__init__``."""
    for name, member in vars(cls).items():
        if name.startswith("_") and name != "__init__":
            continue
        function = member
        if isinstance(member, (classmethod, staticmethod)):
            function = member.__func__
        elif isinstance(member, property):
            function = member.fget
        if inspect.isfunction(function):
            yield name, function


def _callables() -> list[tuple[str, Callable[..., Any]]]:
    found: list[tuple[str, Callable[..., Any]]] = []
    for qualname, obj in _public_objects():
        if inspect.isfunction(obj):
            found.append((qualname, obj))
        else:
            found.extend((f"{qualname}.{name}", fn) for name, fn in _public_methods(obj))
    return found


def _missing_hints(fn: Callable[..., Any]) -> list[str]:
    signature = inspect.signature(fn)
    missing = [
        name
        for index, (name, param) in enumerate(signature.parameters.items())
        if param.annotation is inspect.Parameter.empty
        and not (index == 0 and name in ("self", "cls"))
    ]
    if signature.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


class TestNames:
    @pytest.mark.parametrize("module_name", sorted(PUBLIC))
    def test_all_is_pinned(self, module_name: str) -> None:
        assert PUBLIC[module_name] == sorted(_module(module_name).__all__)

    @pytest.mark.parametrize("module_name", sorted(PUBLIC))
    def test_every_name_in_all_exists(self, module_name: str) -> None:
        module = _module(module_name)
        assert [] == [name for name in module.__all__ if not hasattr(module, name)]

    def test_top_level_reexports_are_the_same_objects(self) -> None:
        from honeyhive_trace import records

        assert (hh.ModelEvent, hh.Usage) == (records.ModelEvent, records.Usage)
        assert (hh.HoneyHiveTraceError, hh.ConfigurationError, hh.TracingError) == (
            exceptions.HoneyHiveTraceError,
            exceptions.ConfigurationError,
            exceptions.TracingError,
        )

    def test_version_is_the_package_version(self) -> None:
        assert importlib.metadata.version("honeyhive-trace") == hh.__version__

    def test_pytest_plugin_is_registered(self) -> None:
        plugins = importlib.metadata.entry_points(group="pytest11")
        assert "honeyhive_trace.pytest_plugin" in {
            ep.value for ep in plugins if ep.name == "honeyhive_trace"
        }
        from honeyhive_trace import pytest_plugin

        assert ["captured_events"] == pytest_plugin.__all__

    def test_console_script_is_registered(self) -> None:
        scripts = importlib.metadata.entry_points(group="console_scripts")
        assert {"honeyhive_trace.cli:main"} == {
            ep.value for ep in scripts if ep.name == "honeyhive-trace"
        }


class TestExceptionTree:
    def test_tree(self) -> None:
        assert issubclass(hh.ConfigurationError, hh.HoneyHiveTraceError)
        assert issubclass(hh.ConfigurationError, ValueError)
        assert issubclass(hh.TracingError, hh.HoneyHiveTraceError)
        assert {hh.ConfigurationError, hh.TracingError} == set(
            hh.HoneyHiveTraceError.__subclasses__()
        )

    def test_the_documented_tree_names_every_exception(self) -> None:
        doc = exceptions.__doc__ or ""
        assert [] == [name for name in exceptions.__all__ if name not in doc]

    def test_configuration_error_names_the_setting(self) -> None:
        error = hh.ConfigurationError("server_url", "is not a valid base URL")
        assert ("server_url", "server_url: is not a valid base URL") == (
            error.setting,
            str(error),
        )


class TestDocumented:
    @pytest.mark.parametrize(
        ("name", "obj"), list(_public_objects()), ids=[name for name, _ in _public_objects()]
    )
    def test_every_public_function_and_class_has_a_docstring(self, name: str, obj: Any) -> None:
        assert (inspect.getdoc(obj) or "").strip(), f"{name} has no docstring"

    def test_every_public_method_has_a_docstring(self) -> None:
        undocumented = [
            name
            for name, fn in _callables()
            if not name.endswith(".__init__") and not (inspect.getdoc(fn) or "").strip()
        ]
        assert [] == undocumented

    def test_every_public_callable_has_type_hints(self) -> None:
        missing = {name: hints for name, fn in _callables() if (hints := _missing_hints(fn))}
        assert {} == missing

    def test_the_package_is_marked_typed(self) -> None:
        from importlib import resources

        assert resources.files("honeyhive_trace").joinpath("py.typed").is_file()
