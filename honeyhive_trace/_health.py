"""``hh.health()``: what stops events from reaching the server, in words.

Built from what the library already knows: the configuration, the problems
it warned about (:func:`~honeyhive_trace._errors.alert`: a rejected key, a bad
environment setting), what waits in memory and in the spool, and what was
dropped. Reading it never raises and never waits for the network.
"""

from __future__ import annotations

from typing import Any

from honeyhive_trace._client import Client, resolve_client
from honeyhive_trace._errors import alerts
from honeyhive_trace._state import STATE

__all__ = ["health"]


def _not_recording(client: Client) -> str | None:
    config = client.config
    if client.closed:
        return "tracing was shut down (shutdown() or exit); configure() starts it again"
    if not config.enabled:
        return "tracing is disabled (enabled=False or HH_TRACING_ENABLED=false)"
    if not config.has_destination:
        return (
            "tracing is off: not configured; set HH_API_KEY (or HH_API_URL for a local "
            "collector) or call configure(api_key=...)"
        )
    return None


def health() -> dict[str, Any]:
    """Say what, if anything, stops events from reaching the server.

    Returns:
        A new dict: ``ok`` (True when nothing is wrong), ``problems`` (one
        sentence per problem, saying what to do), ``recording`` (whether traced
        calls record events), ``last_rejection`` (the latest refusal by the
        server, e.g. of the API key, or None), ``pending`` (events in memory),
        ``spool_bytes`` and ``spool_dir`` (undelivered events kept on disk).
    """
    client: Client = STATE.client or resolve_client()
    found = alerts()
    problems: list[str] = []
    if "config" in found:
        problems.append(found["config"])
    off = _not_recording(client)
    if off is not None and "config" not in found:
        problems.append(off)
    rejections = [message for kind, message in found.items() if kind.startswith("rejected_")]
    problems.extend(rejections)
    spools = client.spools()
    spool = spools[0][1] if spools else None
    spool_bytes = 0
    for name, each, _ in spools:  # every exporter's (HoneyHive's API, OTLP)
        held = each.size() + (each.sibling.size() if each.sibling is not None else 0)
        spool_bytes += held
        if held:
            server = "the server" if name == "honeyhive" else "the OTLP endpoint"
            problems.append(
                f"{held} bytes of undelivered events wait in the spool ({each.directory}): "
                f"{server} did not answer in time; they are sent again once it does"
            )
    counts = client.stats()
    drops = {
        k.replace("dropped_", "", 1): v
        for k, v in counts.items()
        if k.startswith("dropped_") or "_dropped_" in k
    }
    if any(drops.values()):
        reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(drops.items()) if n)
        total = sum(drops.values())
        problems.append(f"{total} events were dropped ({reasons}); see the log")
    return {
        "ok": not problems,
        "problems": problems,
        "recording": client.recording,
        "last_rejection": rejections[-1] if rejections else None,
        "pending": client.dispatcher.pending() if client.dispatcher is not None else 0,
        "spool_bytes": spool_bytes,
        "spool_dir": str(spool.directory) if spool is not None else None,
    }
