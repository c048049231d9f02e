"""Sphinx configuration of the honeyhive-trace documentation.

Build (warnings are errors, every reference must resolve)::

    sphinx-build -W -n -b html docs docs/_build/html

Run the examples as tests::

    sphinx-build -W -n -b doctest docs docs/_build/doctest

No extension here needs the network: there is no intersphinx, so references to
the standard library and third-party types are plain text (see
``nitpick_ignore_regex``).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)

import honeyhive_trace  # noqa: E402

project = "honeyhive-trace"
author = "honeyhive-trace contributors"
copyright = "honeyhive-trace contributors"
version = release = honeyhive_trace.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
]

exclude_patterns = ["_build"]
default_role = "py:obj"
nitpicky = True
# Without intersphinx, the standard library and third-party types cannot be
# linked; they render as plain text. Everything of honeyhive_trace's own must
# resolve (see resolve_public_name below for re-exported and short names).
nitpick_ignore_regex = [
    (r"py:.*", r"(collections\.abc|contextvars|logging|os|pathlib|re|sqlite3|attrs)\.\w+"),
    # The HTTP clients whose requests honeyhive_trace.http_clients marks.
    (r"py:class", r"(requests\.adapters|httpx)\.\w+"),
    # The OpenTelemetry SDK types of honeyhive_trace.otel.SpanProcessor's methods.
    (r"py:class", r"opentelemetry(\.\w+)+"),
    (r"py:mod", r"contextvars"),
    # The standard classes the executor and thread subclass return or extend.
    (r"py:class", r"(concurrent\.futures|threading)(\.\w+)+"),
    # The ParamSpec of copy_context_to's signature (see the type variables below).
    (r"py:class", r"P"),
    # Type variables of generic signatures (F, C, P) have no page of their own.
    (r"py:class", r"honeyhive_trace(\.\w+)*\.[A-Z]"),
    # Docstrings that point into the machinery (``_serialization``, the
    # collector's ``prepare``): private, so not documented; plain text.
    (r"py:.*", r"honeyhive_trace(\.\w+)*\._\w+(\.\w+)*"),
    (r"py:func", r"prepare"),
    # The frameworks' own types in the callback and processor signatures.
    (r"py:class", r"(uuid\.)?UUID|Document|BaseMessage|LLMResult"),
    (r"py:class", r"(langchain_core|agents)(\.\w+)+"),
]

# -- autodoc / napoleon ---------------------------------------------------------------------

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
python_use_unqualified_type_names = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

# -- doctest ----------------------------------------------------------------------------------

# Every document's examples start from a clean slate: no HH_* variable from the
# machine that builds the docs, spool and data directories in a temporary
# directory, and no client left over from the previous document.
doctest_global_setup = """
import os as _hh_os
import tempfile as _hh_tempfile
from honeyhive_trace import _client as _hh_client

for _hh_name in [n for n in _hh_os.environ if n.startswith("HH_")]:
    del _hh_os.environ[_hh_name]
_hh_tmp = _hh_tempfile.mkdtemp(prefix="honeyhive-trace-docs-")
_hh_os.environ["XDG_CACHE_HOME"] = _hh_os.path.join(_hh_tmp, "cache")
_hh_os.environ["XDG_DATA_HOME"] = _hh_os.path.join(_hh_tmp, "data")
_hh_client.reset()
"""
doctest_global_cleanup = """
_hh_client.reset()
for _hh_name in [n for n in _hh_os.environ if n.startswith("HH_")]:
    del _hh_os.environ[_hh_name]
"""

# -- HTML -------------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"honeyhive-trace {release}"
html_static_path: list[str] = []


# -- a table generated from the code, so that it cannot go stale ----------------------------


def _source(model: str, price_source: Any) -> str:
    found = price_source(model)
    if found is None:
        return "—"
    url, date = found
    host = url.split("/")[2]
    return f"`{host} <{url}>`__ ({date.isoformat()})"


class PriceTable(SphinxDirective):
    """``.. price-table::``: the shipped cost table, read from the package."""

    def run(self) -> list[nodes.Node]:
        from honeyhive_trace.integrations._pricing import PRICES, price_source

        def usd(value: float | None) -> str:
            return "—" if value is None else f"{value:g}"  # a bare "-" would be a list item

        lines = [
            ".. list-table::",
            "   :header-rows: 1",
            "",
            "   * - model (and its dated versions)",
            "     - input",
            "     - output",
            "     - cached input",
            "     - cache write",
            "     - source (read on)",
        ]
        for model, price in PRICES.items():
            lines += [
                f"   * - ``{model}``",
                f"     - {usd(price.input)}",
                f"     - {usd(price.output)}",
                f"     - {usd(price.cache_read)}",
                f"     - {usd(price.cache_write)}",
                f"     - {_source(model, price_source)}",
            ]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="price-table"), 0, container)
        return list(container.children)


# -- links to re-exported names ---------------------------------------------------------------

#: Modules whose ``__all__`` is public, in order of preference for a short name.
PUBLIC_MODULES = (
    "honeyhive_trace",
    "honeyhive_trace.records",
    "honeyhive_trace.exceptions",
    "honeyhive_trace.processors",
    "honeyhive_trace.testing",
    "honeyhive_trace.integrations",
    "honeyhive_trace.collector",
)


def _public_names() -> dict[str, str]:
    import importlib

    names: dict[str, str] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            names.setdefault(name, f"{module_name}.{name}")
    return names


def resolve_public_name(
    app: Sphinx, env: Any, node: nodes.Element, contnode: nodes.Element
) -> nodes.Element | None:
    """Link a docstring's short or private name to where the public name is documented.

    Docstrings say ``:class:`ModelEvent``` inside ``honeyhive_trace.processors``,
    or name the private module a public function lives in
    (``honeyhive_trace._events.model_event``); both mean the public object.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    parts = target.split(".")
    if len(parts) > 1 and not any(part.startswith("_") for part in parts):
        return None
    public = app.config.hh_public_names.get(parts[-1])
    if public is None or public == target:
        return None
    domain = env.get_domain("py")
    resolved: nodes.Element | None = domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], public, node, contnode
    )
    return resolved


def public_titles(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Make the hover text of links name the public path, not the private module.

    Type hints in signatures carry where a class is defined
    (``honeyhive_trace.collector._store.EventQuery``); the link already goes to
    the public entry, and now its title says so too.
    """
    names = app.config.hh_public_names
    for ref in doctree.findall(nodes.reference):
        title = ref.get("reftitle", "")
        if "._" in title and title.rpartition(".")[2] in names:
            ref["reftitle"] = names[title.rpartition(".")[2]]


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the documentation's own directive and reference resolver."""
    app.add_directive("price-table", PriceTable)
    app.add_config_value("hh_public_names", _public_names(), "env")
    app.connect("missing-reference", resolve_public_name)
    app.connect("doctree-resolved", public_titles)
    return {"parallel_read_safe": True}
