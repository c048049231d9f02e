"""``events --tree``: one session printed as an indented, terminal-safe tree."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TextIO

from honeyhive_trace.cli._common import clean, duration_text, number

__all__ = ["print_tree"]


def _event_tokens(event: dict[str, Any]) -> int | None:
    for counts in (event.get("usage"), event.get("metadata")):
        if isinstance(counts, dict):
            total = counts.get("total_tokens")
            if isinstance(total, int) and not isinstance(total, bool):
                return total
            prompt, completion = counts.get("prompt_tokens"), counts.get("completion_tokens")
            if isinstance(prompt, int) and isinstance(completion, int):
                return prompt + completion
    return None


def _event_cost(event: dict[str, Any]) -> float | None:
    cost = number(event.get("cost"))
    metadata = event.get("metadata")
    if cost is None and isinstance(metadata, dict):
        cost = number(metadata.get("cost"))
    return cost


def _nest(session_id: str, events: Sequence[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Order events depth-first under the session: by parent_id, else a parent's
    children_ids, else at the top; siblings by start time. Returns (depth, event) pairs."""
    by_id = {str(ev.get("event_id")): ev for ev in events}
    listed_by: dict[str, str] = {}
    for ev in events:
        for child in ev.get("children_ids") or []:
            listed_by.setdefault(str(child), str(ev.get("event_id")))
    children: dict[str, list[dict[str, Any]]] = {}
    for ev in events:
        own = str(ev.get("event_id"))
        parent = ev.get("parent_id")
        if not (isinstance(parent, str) and parent != own and parent in by_id):
            parent = listed_by.get(own)
        if not (isinstance(parent, str) and parent != own and parent in by_id):
            parent = session_id
        children.setdefault(parent, []).append(ev)
    # Siblings by start, then end (times are whole ms), then the order they ended in.
    ended = {str(c): i for ev in events for i, c in enumerate(ev.get("children_ids") or [])}

    def by_start(kids: list[dict[str, Any]]) -> list[dict[str, Any]]:
        def key(ev: dict[str, Any]) -> tuple[float, float, int]:
            start = number(ev.get("start_time")) or 0.0
            return start, number(ev.get("end_time")) or start, ended.get(str(ev["event_id"]), 0)

        return sorted(kids, key=key)

    out: list[tuple[int, dict[str, Any]]] = []
    seen: set[str] = set()
    stack = [(1, ev) for ev in reversed(by_start(children.get(session_id, [])))]
    while stack:
        depth, ev = stack.pop()
        own = str(ev.get("event_id"))
        if own in seen:
            continue
        seen.add(own)
        out.append((depth, ev))
        stack += [(depth + 1, kid) for kid in reversed(by_start(children.get(own, [])))]
    out += [(1, ev) for ev in events if str(ev.get("event_id")) not in seen]  # parent cycles
    return out


def print_tree(found: dict[str, Any], out: TextIO) -> None:
    """Print one session (as ``GET /sessions/<id>`` answers) as an indented, safe tree.

    Args:
        found: ``{"session": ..., "events": [...], "updates": [...]}``.
        out: Where to print.
    """
    session, events = found["session"], found["events"]
    session_id = str(session.get("session_id"))
    name = session.get("session_name") or "(unnamed session)"
    rows = [("session", f"{name} {session_id}", session, 0)]
    rows += [
        (str(ev.get("event_type") or "model"), str(ev.get("event_name") or "-"), ev, d)
        for d, ev in _nest(session_id, events)
    ]
    cells = []
    for kind, label, item, depth in rows:
        tokens = session.get("total_tokens") if depth == 0 else _event_tokens(item)
        cost = number(session.get("cost")) if depth == 0 else _event_cost(item)
        error = str(item.get("error") or "").strip().splitlines()
        cells.append(
            [
                clean(kind, 10),
                "  " * depth + clean(label, 60),
                duration_text(number(item.get("duration"))),
                f"{tokens:,} tok" if isinstance(tokens, int) else "",
                f"${cost:.6f}" if cost is not None else "",
                clean("ERROR " + error[-1], 60) if error else "",
            ]
        )
    widths = [max(len(row[i]) for row in cells) for i in range(5)]
    for row in cells:
        parts = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        parts += [cell.rjust(width) for cell, width in zip(row[2:5], widths[2:], strict=True)]
        print("  ".join([*parts, row[5]]).rstrip(), file=out)
    errors = int(session.get("error_count") or 0)
    total_tokens = session.get("total_tokens")
    totals = [
        f"{len(events)} events",
        f"{total_tokens:,} tokens" if isinstance(total_tokens, int) else "no token counts",
        f"${number(session.get('cost')) or 0.0:.6f}",
        f"{errors} error{'s' if errors != 1 else ''}",
        duration_text(number(session.get("duration"))),
    ]
    print("total: " + " · ".join(totals), file=out)
