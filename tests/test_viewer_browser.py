"""The viewer, rendered by headless Chromium against a real collector.

One Chromium runs for the module, driven over the DevTools protocol on a pipe (no driver):
each test opens a tab, waits until the viewer marks its route rendered, then reads the DOM,
computed styles and layout boxes (what a user would see), and may take a screenshot.
Without Chromium the tests skip locally and fail in CI (``CI`` set).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
import urllib.parse
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


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (fds 3 and 4).

    No driver or websocket library: messages are JSON texts ended by a NUL byte.
    """

    def __init__(self, binary: str, profile: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Move the browser's ends above 9, so the dups to 3 and 4 cannot clobber them (bash:
        # dash takes single-digit descriptors only).
        child_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_browser_r)
        os.close(from_browser_w)
        script = f'exec 3<&{child_r} 4>&{child_w} {child_r}<&- {child_w}>&-; exec "$@"'
        # Its HOME and XDG dirs live in the profile too: Chromium writes there (dconf, NSS).
        home = {name: str(profile / name.lower()) for name in _HOMES}
        self.proc = subprocess.Popen(
            ["bash", "-c", script, "bash", binary, *_FLAGS, f"--user-data-dir={profile}"],
            env={**os.environ, **home},
            pass_fds=(child_r, child_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(child_r)
        os.close(child_w)
        self._buffer = b""
        self._next = 0

    def call(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        """Send one command and return its result (events in between are skipped)."""
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}, **kw}
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self._next:
                    if "error" in answer:
                        raise RuntimeError(f"{method}: {answer['error']}")
                    return answer["result"]
            ready, _, _ = select.select([self._from_browser], [], [], 30)
            assert ready, f"Chromium did not answer {method} within 30 s"
            chunk = os.read(self._from_browser, 1 << 20)
            assert chunk, "Chromium exited"
            self._buffer += chunk

    def close(self) -> None:
        try:
            self.call("Browser.close")
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)


_HOMES = ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
    "about:blank",
)

_WAIT_RENDERED = """
new Promise((resolve, reject) => {
  const until = Date.now() + 15000;
  (function check() {
    if (document.body && document.body.getAttribute("data-rendered") === %s) resolve(true);
    else if (Date.now() > until) reject(new Error("not rendered: " + location.hash));
    else setTimeout(check, 10);
  })();
})
"""


class Page:
    """One browser tab at 1280x900."""

    def __init__(self, chromium: Chromium) -> None:
        self.chromium = chromium
        self.target = chromium.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = chromium.call(
            "Target.attachToTarget", {"targetId": self.target, "flatten": True}
        )
        self.session = attached["sessionId"]
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.chromium.call(method, params, sessionId=self.session)

    def js(self, expression: str) -> Any:
        """Evaluate ``expression`` in the page (awaiting a promise) and return its value."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def open(self, url: str) -> Node:
        """Load ``url`` and wait until the viewer rendered its route; the DOM."""
        fragment = urllib.parse.urlsplit(url).fragment
        self.call("Page.navigate", {"url": url})
        self.wait("#" + fragment if fragment else "#/")
        return self.dom()

    def wait(self, hash_: str) -> None:
        self.js(_WAIT_RENDERED % json.dumps(hash_))

    def dom(self) -> Node:
        return parse(self.js("document.documentElement.outerHTML"))

    def visible(self, element_id: str) -> bool:
        """Whether the element takes space on screen (not what its attributes say)."""
        return bool(
            self.js(
                f"(() => {{ const e = document.getElementById({json.dumps(element_id)});"
                " const r = e.getBoundingClientRect();"
                " return getComputedStyle(e).display !== 'none' && e.offsetParent !== null"
                " && r.width > 0 && r.height > 0; })()"
            )
        )

    def screenshot(self, path: Path) -> Path:
        shot = self.call(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        self.chromium.call("Target.closeTarget", {"targetId": self.target})


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """One headless Chromium for the module (a fresh profile in a temp dir)."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            chromium = Chromium(path, tmp_path_factory.mktemp("chromium-profile"))
            yield chromium
            chromium.close()
            return
    message = "Chromium is not installed (apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def page(browser: Chromium) -> Iterator[Page]:
    """A new tab, closed after the test."""
    tab = Page(browser)
    yield tab
    tab.close()


@pytest.fixture
def render(page: Page) -> Any:
    """Return a function that loads a URL and parses the DOM once the viewer rendered it."""
    return page.open


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
    dom = render(f"{collector.url}/#/events")
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
    dom = render(f"{collector.url}/#/events?model=fake-mini")
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


def test_the_key_panel_shows_only_when_a_key_is_needed(page: Page, stocked: Any):
    collector, _ = stocked
    for route in ("#/", "#/events"):
        page.open(f"{collector.url}/{route}")
        assert not page.visible("auth"), route
        assert not page.visible("load-error"), route
    with Collector(api_key="viewer-key-5c1e") as keyed:
        dom = page.open(f"{keyed.url}/#/")
        assert page.visible("auth")
        assert "requires an API key" in dom.by_id("auth").text()
        assert [] == dom.by_id("sessions-body").find_all("tr")
        # With the key typed in, the panel goes away and the data shows.
        page.js(
            "document.getElementById('auth-key').value = 'viewer-key-5c1e';"
            "document.body.removeAttribute('data-rendered');"
            "document.getElementById('auth').requestSubmit()"
        )
        page.wait("#/")
        assert not page.visible("auth")
        assert page.visible("sessions-table")


# -- sessions: the list, the trace tree, the waterfall and the event panel -----------------

T0 = 1_732_800_000_000
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "app.py", line 12, in polish\n'
    "    raise RateLimitError('slow down')\n"
    "RateLimitError: slow down <script>alert(1)</script>"
)


@pytest.fixture(scope="module")
def traced() -> Iterator[tuple[Collector, dict[str, Any]]]:
    """A collector holding a started session (a chain holding a tool and two model calls,
    one failing, one streamed), feedback logged after the fact, and an older unstarted
    session named only by its events' metadata."""
    sid, other = str(uuid.uuid4()), str(uuid.uuid4())
    ids = {name: str(uuid.uuid4()) for name in ("chain", "tool", "draft", "polish", "old")}
    session = {
        "project": "p",
        "session_name": "support chat",
        "source": "test",
        "session_id": sid,
        "event_id": sid,
        "event_type": "session",
        "start_time": T0,
        "inputs": {"question": "weather?"},
    }
    chain = {
        "project": "p",
        "event_type": "chain",
        "event_name": "answer question",
        "source": "test",
        "config": {},
        "inputs": {"question": "weather?"},
        "duration": 400,
        "event_id": ids["chain"],
        "session_id": sid,
        "parent_id": sid,
        "children_ids": [ids["tool"], ids["draft"], ids["polish"]],
        "start_time": T0,
        "end_time": T0 + 400,
    }
    tool = {
        **chain,
        "event_type": "tool",
        "event_name": "search docs",
        "config": {"index": "docs"},
        "inputs": {"query": "weather"},
        "outputs": {"hits": 3},
        "duration": 50,
        "event_id": ids["tool"],
        "parent_id": ids["chain"],
        "children_ids": [],
        "start_time": T0 + 10,
        "end_time": T0 + 60,
    }
    draft = minimal_event(
        event_type="model",
        event_id=ids["draft"],
        event_name="draft",
        session_id=sid,
        parent_id=ids["chain"],
        children_ids=[],
        start_time=T0 + 70,
        end_time=T0 + 250,
        duration=180,
        usage={"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42},
        cost=0.0021,
        metadata={"time_to_first_token_ms": 35.5, "stream": True},
        messages=[{"role": "user", "content": "Draft <b>an answer</b>"}],
        response={"role": "assistant", "content": "Sunny, 21 °C."},
    )
    polish = minimal_event(
        event_type="model",
        event_id=ids["polish"],
        event_name="polish",
        session_id=sid,
        parent_id=ids["chain"],
        children_ids=[],
        start_time=T0 + 260,
        end_time=T0 + 390,
        duration=130,
        cost=0.0009,
        error=TRACEBACK,
    )
    old = minimal_event(
        event_id=ids["old"],
        event_name="<img src=x onerror=alert(1)>",
        session_id=other,
        start_time=T0 - 60_000,
        metadata={"session_name": "older chat"},
    )
    feedback = {"event_id": ids["draft"], "feedback": {"rating": 5, "comment": "<i>great</i>"}}
    with Collector() as collector, requests.Session() as http:
        for path, body, method in (
            ("/session/start", {"session": session}, "POST"),
            ("/events/batch", {"events": [chain, tool]}, "POST"),
            ("/events/model/batch", {"model_events": [draft, polish, old]}, "POST"),
            ("/events", feedback, "PUT"),
        ):
            response = http.request(method, collector.url + path, json=body, timeout=10)
            assert 200 == response.status_code, response.text
        yield collector, {"sid": sid, "other": other, **ids}


def test_sessions_list_newest_first_with_totals(page: Page, traced: Any, tmp_path: Path):
    collector, ids = traced
    dom = page.open(f"{collector.url}/")
    rows = dom.by_id("sessions-body").find_all("tr", "session-row")
    assert [ids["sid"], ids["other"]] == [r.attrs["data-session-id"] for r in rows]

    def cells(row: Node) -> list[str]:
        return [
            row.find_all("td", f"col-{name}")[0].text()
            for name in ("name", "events", "tokens", "cost", "errors", "duration")
        ]

    assert ["support chat", "4", "44", "$0.00300", "1", "400"] == cells(rows[0])
    assert ["older chat", "1", "2", "—", "0", "12.5"] == cells(rows[1])
    assert "has-error" in rows[0].classes()
    assert [] == dom.find_all("img")
    assert not page.visible("auth")
    assert page.screenshot(tmp_path / "sessions.png").read_bytes().startswith(b"\x89PNG")


def test_session_page_shows_the_trace_as_a_tree(page: Page, traced: Any):
    collector, ids = traced
    dom = page.open(f"{collector.url}/#/session/{ids['sid']}")
    assert "support chat" == dom.by_id("session-title").text()
    tree = dom.by_id("trace-tree")
    (root,) = [c for c in tree.children if isinstance(c, Node) and c.tag == "li"]
    assert (ids["sid"], "session") == (root.attrs["data-event-id"], root.attrs["data-type"])
    (chain,) = root.find_all("ul")[0].children
    assert isinstance(chain, Node)
    assert ids["chain"] == chain.attrs["data-event-id"]
    kids = [c for c in chain.find_all("ul")[0].children if isinstance(c, Node)]
    assert [ids["tool"], ids["draft"], ids["polish"]] == [k.attrs["data-event-id"] for k in kids]
    assert ["tool", "model", "model"] == [k.attrs["data-type"] for k in kids]
    assert "has-error" in kids[2].classes()
    assert "42 tok" in kids[1].text()
    # With nothing selected, the panel shows the session itself.
    assert ids["sid"] == dom.by_id("event-panel").attrs["data-event-id"]
    assert '"question": "weather?"' in dom.by_id("ev-inputs").text()


def test_waterfall_places_bars_by_time(page: Page, traced: Any, tmp_path: Path):
    collector, ids = traced
    page.open(f"{collector.url}/#/session/{ids['sid']}?event={ids['draft']}")
    boxes = page.js(
        "[...document.querySelectorAll('#waterfall .wf-bar')].map(b => {"
        " const r = b.getBoundingClientRect();"
        " return [b.dataset.eventId, r.left, r.right, r.top]; })"
    )
    order = [ids[k] for k in ("sid", "chain", "tool", "draft", "polish")]
    assert order == [b[0] for b in boxes]
    left = {b[0]: b[1] for b in boxes}
    right = {b[0]: b[2] for b in boxes}
    tops = [b[3] for b in boxes]
    assert tops == sorted(tops)  # one row each, in tree order
    assert 5 == len(set(tops))
    assert left[ids["sid"]] == left[ids["chain"]] < left[ids["tool"]]
    assert left[ids["tool"]] < left[ids["draft"]] < left[ids["polish"]]
    assert right[ids["tool"]] < left[ids["draft"]]  # the tool ended before the draft began
    assert right[ids["polish"]] <= right[ids["chain"]]
    width = right[ids["chain"]] - left[ids["chain"]]
    draft_width = right[ids["draft"]] - left[ids["draft"]]
    assert abs(draft_width / width - 180 / 400) < 0.02  # widths are proportional to duration
    page.screenshot(tmp_path / "session-draft.png")


def test_event_panel_shows_stream_ttft_and_late_feedback(page: Page, traced: Any):
    collector, ids = traced
    dom = page.open(f"{collector.url}/#/session/{ids['sid']}?event={ids['draft']}")
    assert ids["draft"] == dom.by_id("event-panel").attrs["data-event-id"]
    summary = dom.by_id("ev-summary").text()
    assert "time to first token35.5 ms" in summary
    assert "Draft <b>an answer</b>" in dom.by_id("ev-inputs").text()
    assert "Sunny, 21 °C." in dom.by_id("ev-outputs").text()
    assert '"comment": "<i>great</i>"' in dom.by_id("ev-feedback").text()
    assert '"rating": 5' in dom.by_id("ev-updates").text()
    assert "received" in dom.by_id("ev-updates").text()
    assert [] == dom.find_all("b") + dom.find_all("i")  # stored text is never markup
    assert not page.visible("ev-error")
    selected = dom.by_id("trace-tree").find_all("span", "selected")
    assert ["draft"] == [s.find_all("a")[0].text() for s in selected]


def test_event_panel_shows_the_traceback_of_a_failure(page: Page, traced: Any, tmp_path: Path):
    collector, ids = traced
    dom = page.open(f"{collector.url}/#/session/{ids['sid']}?event={ids['polish']}")
    assert page.visible("ev-error")
    assert TRACEBACK == dom.by_id("ev-error").text()
    assert ["/static/app.js"] == [n.attrs.get("src") for n in dom.find_all("script")]
    assert page.js("getComputedStyle(document.getElementById('ev-error')).whiteSpace") in (
        "pre",
        "pre-wrap",
    )
    page.screenshot(tmp_path / "session-polish.png")


def test_event_filters_by_type_name_session_and_time(page: Page, traced: Any):
    collector, ids = traced

    def listed(query: str) -> list[str]:
        dom = page.open(f"{collector.url}/#/events?{query}")
        return [r.attrs["data-event-id"] for r in dom.by_id("events-body").find_all("tr")]

    assert [ids["tool"]] == listed("event_type=tool")
    assert [ids["chain"]] == listed("event_type=chain&session_name=support+chat")
    assert [ids["old"]] == listed("session_name=older+chat")
    assert [ids["draft"]] == listed("event_name=draft")
    assert [ids["polish"], ids["draft"]] == listed(f"event_type=model&since={T0 + 1}")
    assert [ids["old"]] == listed(f"until={T0}")
    # The form turns its inputs into the same addressable query (times as unix ms).
    page.js(
        "document.getElementById('f-event-type').value = 'model';"
        f"document.getElementById('f-since').value = {json.dumps(_local(T0 - 30_000))};"
        "document.getElementById('f-until').value = '';"
        "document.getElementById('filters').requestSubmit()"
    )
    page.wait(f"#/events?event_type=model&since={T0 - 30_000}")
    rows = page.dom().by_id("events-body").find_all("tr")
    assert [ids["polish"], ids["draft"]] == [r.attrs["data-event-id"] for r in rows]


def test_session_filters_by_name_and_time(page: Page, traced: Any):
    collector, ids = traced
    dom = page.open(f"{collector.url}/#/?session_name=older+chat")
    rows = dom.by_id("sessions-body").find_all("tr")
    assert [ids["other"]] == [r.attrs["data-session-id"] for r in rows]
    assert "older chat" == page.js("document.getElementById('s-session-name').value")
    dom = page.open(f"{collector.url}/#/?since={T0}")
    rows = dom.by_id("sessions-body").find_all("tr")
    assert [ids["sid"]] == [r.attrs["data-session-id"] for r in rows]


def _local(ms: int) -> str:
    """The datetime-local text of ``ms`` in this machine's time zone (as the browser's)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(ms / 1000))
