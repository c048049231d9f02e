"""honeyhive_trace: fast, lossless tracing of LLM calls for HoneyHive."""

from honeyhive_trace._version import __version__

__all__ = ["__version__"]
