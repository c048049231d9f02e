"""Process B of the two-process test: a WSGI app under WSGIMiddleware, on loopback.

Run as ``python -m tests._support.service``; configured by the environment
(``HH_API_URL``, ``HH_API_KEY``, ...). Prints ``listening on <port>``, serves
until its standard input closes, then shuts tracing down (delivering every
event) and prints ``delivered True``.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import make_server

import honeyhive_trace as hh
from honeyhive_trace.middleware import WSGIMiddleware


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """One step of work, traced, per request."""
    with hh.event("tool", event_name="lookup", inputs={"path": environ["PATH_INFO"]}) as ev:
        ev.set_outputs({"rows": 3})
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def main() -> None:
    server = make_server("127.0.0.1", 0, WSGIMiddleware(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    print(f"listening on {server.server_port}", flush=True)
    sys.stdin.read()  # until the test closes it
    server.shutdown()
    thread.join()
    print(f"delivered {hh.shutdown(timeout=20)}", flush=True)


if __name__ == "__main__":
    main()
