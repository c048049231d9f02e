"""The package's shape: no import cycle among its modules, and no module over ~400 lines.

The layers themselves are checked by ``lint-imports`` (the contracts in setup.cfg),
which ``.ci/run`` runs; grimp is the graph library behind it.
"""

from __future__ import annotations

from pathlib import Path

import grimp

import honeyhive_trace

PACKAGE = Path(honeyhive_trace.__file__).parent


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


class TestShape:
    def test_no_import_cycle_counting_imports_inside_functions(self) -> None:
        graph = grimp.build_graph("honeyhive_trace")  # every import statement, lazy ones too
        assert len(graph.modules) > 50
        assert [] == _cycles(graph)

    def test_the_cycle_finder_finds_a_cycle(self) -> None:
        graph = grimp.ImportGraph()
        for name in ("a", "a.b", "a.c"):
            graph.add_module(name)
        graph.add_import(importer="a.b", imported="a.c")
        graph.add_import(importer="a.c", imported="a.b")
        assert [["a.b", "a.c"]] == _cycles(graph)

    def test_no_module_over_400_lines(self) -> None:
        long = {
            str(path.relative_to(PACKAGE)): n
            for path in PACKAGE.rglob("*.py")
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
        }
        assert {} == long
