"""Assembling HTTP delivery for one client: spool, ledger, transport, sender, dispatcher.

Imported only when a client first has somewhere to send events, so that
``import honeyhive_trace`` (and an unconfigured application) never pays for
``requests`` and the HTTP stack.
"""

from __future__ import annotations

import codecs

from honeyhive_trace._config import Config
from honeyhive_trace._errors import Counters, ErrorGuard
from honeyhive_trace._providers import Registry
from honeyhive_trace.delivery.http import HttpTransport
from honeyhive_trace.delivery.inline import InlineDispatcher
from honeyhive_trace.delivery.ledger import Ledger
from honeyhive_trace.delivery.pipeline import Pipeline
from honeyhive_trace.delivery.sender import Sender
from honeyhive_trace.delivery.spool import Spool, destination_key
from honeyhive_trace.delivery.worker import BackgroundDispatcher
from honeyhive_trace.integrations import preload
from honeyhive_trace.locations import default_spool_dir

__all__ = ["start_http_delivery"]


def start_http_delivery(
    config: Config, providers: Registry, guard: ErrorGuard, counters: Counters
) -> tuple[Pipeline, Sender, InlineDispatcher | BackgroundDispatcher]:
    """Build the pipeline, the sender and the dispatcher that *config*'s mode asks for.

    Returns:
        The pipeline, the sender (transport, ledger, spool) and the running dispatcher.
    """
    # Nothing is imported on the delivery threads: a fork while one imports
    # would leave the module's import lock held in the child.
    preload()
    codecs.lookup("idna")  # looked up (imported) when a host name is resolved
    pipeline = Pipeline(config, guard, counters, providers)
    root = config.spool_dir or default_spool_dir()
    spool = Spool(root, destination_key(config.server_url, config.api_key), config.spool_max_bytes)
    sender = Sender(config, HttpTransport(config), Ledger(counters, spool))
    if config.mode == "inline":
        return pipeline, sender, InlineDispatcher(pipeline, sender, guard)
    return pipeline, sender, BackgroundDispatcher(pipeline, sender, guard, counters)
