"""``honeyhive-trace serve``: run the local collector and viewer in the foreground."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from honeyhive_trace.cli._common import (
    API_KEY_ENV,
    DEFAULT_HOST,
    DEFAULT_PORT,
    Stop,
    fail,
    install_stop_signals,
    port,
    positive_int,
)
from honeyhive_trace.collector import Collector, StoreError, default_db_path

HELP = "run the local collector and viewer in the foreground"
DESCRIPTION = (
    "Run a local collector that accepts HoneyHive's legacy routes (POST /events/model, "
    "/events, /session/start, PUT /events, ...) and its v1 data plane (POST /v1/events, "
    "/v1/sessions, PUT /v1/events/ID, ...), stores events in SQLite and serves a viewer at /. "
    "Point the library at it with HH_API_URL=http://127.0.0.1:PORT."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``serve`` to its parser."""
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface (default %(default)s)")
    parser.add_argument(
        "--port",
        type=port,
        default=DEFAULT_PORT,
        help="TCP port, 0 for any (default %(default)s)",
    )
    parser.add_argument("--db", help=f"SQLite file or :memory: (default {default_db_path()})")
    parser.add_argument(
        "--api-key",
        default=os.environ.get(API_KEY_ENV),
        help=f"require 'Authorization: Bearer KEY' (default ${API_KEY_ENV}; prefer the "
        "environment, command lines are visible to other users)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (requires an API key)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=positive_int,
        default=5 * 1024 * 1024,
        help="larger request bodies get 413 (default %(default)s)",
    )
    parser.add_argument(
        "--project",
        default="default",
        help="project of what arrives without one: everything sent to the v1 routes, which "
        "have no project field (default %(default)s)",
    )
    parser.add_argument(
        "--max-connections",
        type=positive_int,
        default=256,
        help="connections served at a time; more get 503 and Retry-After (default %(default)s)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM.

    Args:
        args: The parsed options of ``serve``.

    Returns:
        The exit status.
    """
    if args.verbose:
        logging.basicConfig(
            level=logging.DEBUG, format="%(asctime)s %(name)s %(levelname)s %(message)s"
        )
    db = args.db if args.db is not None else str(default_db_path())
    try:
        collector = Collector(
            host=args.host,
            port=args.port,
            db=db,
            api_key=args.api_key or None,
            max_body_bytes=args.max_body_bytes,
            max_connections=args.max_connections,
            allow_remote=args.allow_remote,
            default_project=args.project,
        )
    except ValueError as exc:
        message = str(exc).replace("allow_remote=True", "--allow-remote")
        return fail(message.replace("default_project", "--project"), 2)
    except StoreError as exc:
        return fail(str(exc))
    install_stop_signals()
    try:
        try:
            collector.start()
        except OSError as exc:
            return fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        auth = "api key required" if args.api_key else "no api key"
        print(
            f"honeyhive-trace collector listening on {collector.url} (db: {collector.db}; "
            f"{auth}); viewer at {collector.url}/ - Ctrl-C to stop",
            flush=True,
        )
        if not args.api_key:
            print(
                f"honeyhive-trace: no api key: any user or program on this machine can read "
                f"every prompt and completion at {collector.url}/events and post events; set "
                f"${API_KEY_ENV} (or --api-key) to require one",
                file=sys.stderr,
                flush=True,
            )
        collector.serve_forever()
    except Stop:
        pass
    finally:
        collector.stop()
    print("honeyhive-trace collector stopped", flush=True)
    return 0
