"""A local HoneyHive-compatible collector: HTTP ingest, SQLite storage and a web viewer.

It speaks the same contract as HoneyHive's v0 API for model events (``POST /events/model``,
``POST /events/model/batch``), tool and chain events (``POST /events``, ``POST
/events/batch``), sessions (``POST /session/start``) and updates (``PUT /events``), so the
tracing library can be pointed at it for development, demos and tests::

    from honeyhive_trace.collector import Collector, Faults

    with Collector(db=":memory:", faults=Faults()) as c:
        ...  # post to c.url, then inspect c.events()

The collector is a plain WSGI application (:func:`make_app`) that :class:`Collector` runs in
a thin threaded server; any other WSGI server can run it too.

This package is standalone: it does not import the tracing library's core.
"""

from honeyhive_trace.collector._app import make_app
from honeyhive_trace.collector._collector import Collector, default_db_path
from honeyhive_trace.collector._faults import Fault, Faults
from honeyhive_trace.collector._query import MAX_LIMIT, EventQuery
from honeyhive_trace.collector._schema import StoreError
from honeyhive_trace.collector._server import RecordedRequest
from honeyhive_trace.collector._store import EventStore
from honeyhive_trace.collector._validate import ValidationError
from honeyhive_trace.locations import is_loopback

__all__ = [
    "MAX_LIMIT",
    "Collector",
    "EventQuery",
    "EventStore",
    "Fault",
    "Faults",
    "RecordedRequest",
    "StoreError",
    "ValidationError",
    "default_db_path",
    "is_loopback",
    "make_app",
]
