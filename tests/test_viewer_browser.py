"""The viewer, rendered by headless Chromium against a real collector.

Chromium runs with ``--dump-dom``, which prints the DOM after the page's scripts ran (within
a virtual time budget), so the test checks what a user would see, without a driver.
Without Chromium the tests skip locally and fail in CI (``CI`` set).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import requests

from honeyhive_trace.collector import Collector
from tests._support.collector import minimal_event

pytestmark = pytest.mark.timeout(120)

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass
class Node:
    """An element of the dumped DOM."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        return [
            n
            for n in self.iter()
            if (tag is None or n.tag == tag) and (cls is None or cls in n.classes())
        ]

    def by_id(self, element_id: str) -> Node:
        found = [n for n in self.iter() if n.attrs.get("id") == element_id]
        assert len(found) == 1, f"expected one #{element_id}, found {len(found)}"
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


@pytest.fixture(scope="module")
def browser() -> str:
    """The path of a Chromium binary."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    message = "Chromium is not installed (apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def render(browser: str, tmp_path: Path) -> Any:
    """Return a function that loads a URL in headless Chromium and parses the final DOM."""

    def _render(url: str) -> Node:
        profile = tmp_path / f"chromium-{uuid.uuid4().hex}"
        result = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        assert 0 == result.returncode, result.stderr[-2000:]
        return parse(result.stdout)

    return _render


@pytest.fixture(scope="module")
def stocked() -> Iterator[tuple[Collector, dict[str, dict[str, Any]]]]:
    """A collector holding a session (a parent with two children), a failure and a lone call."""
    session = str(uuid.uuid4())
    ids = {name: str(uuid.uuid4()) for name in ("plan", "draft", "polish", "failed", "lone")}
    events = {
        "plan": minimal_event(
            event_id=ids["plan"],
            event_name="plan",
            model="fake-large",
            session_id=session,
            start_time=1_732_700_000_000,
        ),
        "draft": minimal_event(
            event_id=ids["draft"],
            event_name="draft",
            model="fake-mini",
            session_id=session,
            parent_id=ids["plan"],
            start_time=1_732_700_000_100,
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Draft <b>an answer</b>"},
            ],
            response={"role": "assistant", "content": "Here is a draft."},
            hyperparameters={"temperature": 0.3},
            metadata={"ticket": "T-1"},
        ),
        "polish": minimal_event(
            event_id=ids["polish"],
            event_name="polish",
            model="fake-mini",
            session_id=session,
            parent_id=ids["plan"],
            start_time=1_732_700_000_200,
        ),
        "failed": minimal_event(
            event_id=ids["failed"],
            event_name="<img src=x onerror=alert(1)>",
            model="claude-x",
            provider="anthropic",
            error="RateLimitError: slow down",
            start_time=1_732_700_000_300,
        ),
        "lone": minimal_event(
            event_id=ids["lone"],
            event_name="lone call",
            model="gpt-4o-mini",
            start_time=1_732_700_000_400,
        ),
    }
    with Collector() as collector, requests.Session() as http:
        url = f"{collector.url}/events/model/batch"
        response = http.post(url, json={"model_events": list(events.values())}, timeout=10)
        assert 200 == response.status_code
        yield collector, events


def test_table_lists_every_event_newest_first(render: Any, stocked: Any):
    collector, events = stocked
    dom = render(f"{collector.url}/")
    rows = dom.by_id("events-body").find_all("tr", "event-row")
    expected = [events[k] for k in ("lone", "failed", "polish", "draft", "plan")]
    assert [e["event_id"] for e in expected] == [r.attrs["data-event-id"] for r in rows]
    assert [e["event_name"] for e in expected] == [
        r.find_all("td", "col-name")[0].text() for r in rows
    ]
    assert [e["model"] for e in expected] == [
        r.find_all("td", "col-model")[0].text() for r in rows
    ]
    failed = rows[1]
    assert "has-error" in failed.classes()
    assert "RateLimitError: slow down" == failed.find_all("td", "col-error")[0].text()
    assert "12.5" == failed.find_all("td", "col-duration")[0].text()
    assert "2" == failed.find_all("td", "col-tokens")[0].text()
    assert [] == dom.find_all("img")  # event text is never markup
    assert "1\N{EN DASH}5 of 5" == dom.by_id("page-info").text()


def test_filters_are_addressable(render: Any, stocked: Any):
    collector, _ = stocked
    dom = render(f"{collector.url}/#/?model=fake-mini")
    rows = dom.by_id("events-body").find_all("tr", "event-row")
    assert ["polish", "draft"] == [r.find_all("td", "col-name")[0].text() for r in rows]


def test_detail_view_shows_the_event_and_its_session_tree(render: Any, stocked: Any):
    collector, events = stocked
    draft = events["draft"]
    dom = render(f"{collector.url}/#/event/{draft['event_id']}")
    view = dom.by_id("detail-view")
    assert "hidden" not in view.attrs
    assert "hidden" in dom.by_id("list-view").attrs
    assert draft["event_id"] == view.attrs["data-event-id"]
    assert "draft" == dom.by_id("detail-title").text()
    messages = dom.by_id("detail-messages").find_all("div", "message")
    assert ["system", "user"] == [m.find_all("span", "role")[0].text() for m in messages]
    assert "Draft <b>an answer</b>" == messages[1].find_all("pre", "content")[0].text()
    assert "Here is a draft." in dom.by_id("detail-response").text()
    assert '"temperature": 0.3' in dom.by_id("detail-hyperparameters").text()
    assert '"total_tokens": 2' in dom.by_id("detail-usage").text()
    assert '"ticket": "T-1"' in dom.by_id("detail-metadata").text()

    tree = dom.by_id("session-tree")
    roots = [c for c in tree.children if isinstance(c, Node) and c.tag == "li"]
    assert [events["plan"]["event_id"]] == [r.attrs["data-event-id"] for r in roots]
    nested = roots[0].find_all("ul")[0].find_all("li", "tree-node")
    assert [events["draft"]["event_id"], events["polish"]["event_id"]] == [
        n.attrs["data-event-id"] for n in nested
    ]
    current = tree.find_all("li", "current")
    assert [draft["event_id"]] == [n.attrs["data-event-id"] for n in current]


def test_detail_of_a_failed_event_escapes_and_shows_the_error(render: Any, stocked: Any):
    collector, events = stocked
    failed = events["failed"]
    dom = render(f"{collector.url}/#/event/{failed['event_id']}")
    assert failed["event_name"] == dom.by_id("detail-title").text()
    error = dom.by_id("detail-error")
    assert "hidden" not in error.attrs
    assert "RateLimitError: slow down" == error.text()
    assert [] == dom.find_all("img")
    assert "not part of a session" in dom.by_id("session-tree").text()


def test_unknown_event_shows_an_error(render: Any, stocked: Any):
    collector, _ = stocked
    dom = render(f"{collector.url}/#/event/{uuid.uuid4()}")
    message = dom.by_id("load-error")
    assert "hidden" not in message.attrs
    assert "no event with this id" in message.text()


def test_viewer_files_are_served_with_a_strict_policy(stocked: Any):
    collector, _ = stocked
    with requests.Session() as http:
        page = http.get(f"{collector.url}/", timeout=10)
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert "nosniff" == page.headers["X-Content-Type-Options"]
        for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
            asset = http.get(f"{collector.url}/static/{name}", timeout=10)
            assert 200 == asset.status_code
            assert asset.headers["Content-Type"].startswith(kind)
        script = http.get(f"{collector.url}/static/app.js", timeout=10).text
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in script


def test_a_keyed_collector_asks_for_the_key(render: Any):
    with Collector(api_key="viewer-key-5c1e") as collector:
        dom = render(f"{collector.url}/")
    assert "hidden" not in dom.by_id("auth").attrs
    assert [] == dom.by_id("events-body").find_all("tr")
