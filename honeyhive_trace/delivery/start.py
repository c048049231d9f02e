"""Assembling delivery for one client: per exporter a pipeline, spool, ledger, sender, dispatcher.

Imported only when a client first has somewhere to send events, so that
``import honeyhive_trace`` (and an unconfigured application) never pays for
``requests`` and the HTTP stack.
"""

from __future__ import annotations

import codecs
import json

import attrs

from honeyhive_trace._config import Config
from honeyhive_trace._errors import Counters, ErrorGuard
from honeyhive_trace._json import load_fast
from honeyhive_trace._providers import Registry
from honeyhive_trace.delivery.codec import Codec, codec_for
from honeyhive_trace.delivery.http import HttpTransport
from honeyhive_trace.delivery.inline import InlineDispatcher
from honeyhive_trace.delivery.ledger import Ledger
from honeyhive_trace.delivery.pipeline import Pipeline
from honeyhive_trace.delivery.sender import Sender
from honeyhive_trace.delivery.spool import Spool, destination_key
from honeyhive_trace.delivery.target import Target
from honeyhive_trace.delivery.worker import BackgroundDispatcher
from honeyhive_trace.integrations import preload
from honeyhive_trace.locations import default_spool_dir

__all__ = ["Exporter", "start_http_delivery"]


@attrs.define
class Exporter:
    """One destination's delivery stack, and the counters ``stats()`` reads for it."""

    name: str
    pipeline: Pipeline
    sender: Sender
    dispatcher: InlineDispatcher | BackgroundDispatcher
    counters: Counters


def _otlp(config: Config) -> tuple[Codec, Target]:
    assert config.otlp_endpoint is not None  # checked by configure()
    # The OTLP codec needs the [otel] extra: installed (configure() checked
    # it), but imported only by the applications that export over OTLP.
    from honeyhive_trace.delivery import otlp

    target = Target(
        config.otlp_endpoint, None, dict(config.otlp_headers), otlp.CONTENT_TYPE, "otlp"
    )
    return otlp.otlp_codec(config.otlp_capture_content), target


def _directory(destination: str, encoding: str) -> str:
    """The spool directory of *destination* for items of *encoding*: legacy items in
    the one earlier releases read, others (v1) in one of their own."""
    return destination if encoding in ("legacy", "otlp") else f"{destination}-{encoding}"


def _exporter(
    name: str,
    config: Config,
    providers: Registry,
    guard: ErrorGuard,
    counters: Counters,
    *,
    primary: bool,
) -> Exporter:
    target: Target | None = None
    if name == "otlp":
        codec, target = _otlp(config)
        headers = json.dumps(sorted(config.otlp_headers.items()))
        destination = destination_key(target.url, headers)
    else:
        codec = codec_for(config.api_version)
        destination = destination_key(config.server_url, config.api_key)
    pipeline = Pipeline(config, guard, counters, providers, codec, primary=primary)
    root = config.spool_dir or default_spool_dir()
    spool = Spool(root, _directory(destination, codec.name), config.spool_max_bytes, codec)
    if name == "honeyhive":  # the other API version's files of the same server and key
        other = "v1" if codec.name == "legacy" else "legacy"
        spool.sibling = Spool(
            root, _directory(destination, other), config.spool_max_bytes, codec, holds=other
        )
    transport = HttpTransport(config, target=target)
    sender = Sender(config, transport, Ledger(counters, spool), target, primary)
    if config.mode == "inline":
        dispatcher: InlineDispatcher | BackgroundDispatcher = InlineDispatcher(
            pipeline, sender, guard
        )
    else:
        dispatcher = BackgroundDispatcher(pipeline, sender, guard, counters)
    return Exporter(name, pipeline, sender, dispatcher, counters)


def start_http_delivery(
    config: Config, providers: Registry, guard: ErrorGuard, counters: Counters
) -> list[Exporter]:
    """Build and start one delivery stack per active exporter, in the configured order.

    The first uses the client's *guard* and *counters*; each other has its own
    (``stats()`` reports them under the exporter's name).
    """
    # Nothing is imported on the delivery threads: a fork while one imports
    # would leave the module's import lock held in the child.
    preload()
    load_fast()  # orjson, when installed
    codecs.lookup("idna")  # looked up (imported) when a host name is resolved
    exporters = []
    for index, name in enumerate(config.active_exporters):
        if index:
            counters = Counters()
            guard = ErrorGuard(config.strict, counters)
        exporter = _exporter(name, config, providers, guard, counters, primary=index == 0)
        exporters.append(exporter)
    return exporters
