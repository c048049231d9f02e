"""The viewer's static files (``GET /`` and ``GET /static/<name>``), loaded once."""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib import resources
from typing import TYPE_CHECKING

from honeyhive_trace.collector._wsgi import one_error, reject, respond

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

STATIC_PREFIX = "/static/"

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}
_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class StaticFiles:
    """The viewer's files by name, with their content types; immutable once loaded."""

    def __init__(self, files: dict[str, tuple[bytes, str]]) -> None:
        """Serve ``files``: name -> (content, content type)."""
        self._files = dict(files)

    @classmethod
    def load(cls) -> StaticFiles:
        """Read the files shipped in ``honeyhive_trace/collector/static``."""
        files: dict[str, tuple[bytes, str]] = {}
        folder = resources.files("honeyhive_trace.collector") / "static"
        if folder.is_dir():
            for entry in folder.iterdir():
                content_type = _CONTENT_TYPES.get(os.path.splitext(entry.name)[1])
                if entry.is_file() and content_type is not None:
                    files[entry.name] = (entry.read_bytes(), content_type)
        return cls(files)

    def serves(self, path: str) -> bool:
        """Return whether ``path`` (``/`` or ``/static/<name>``) names one of the files."""
        if path == "/":
            return True
        return path.startswith(STATIC_PREFIX) and path[len(STATIC_PREFIX) :] in self._files

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve one file (a WSGI application)."""
        path = environ.get("PATH_INFO", "")
        name = "index.html" if path == "/" else path[len(STATIC_PREFIX) :]
        content, content_type = self._files.get(name, (b"", ""))
        if not content_type:
            return reject(environ, start_response, 404, one_error("path", f"no such file: {name}"))
        headers = [*_SECURITY_HEADERS, ("Cache-Control", "no-cache")]
        if content_type.startswith("text/html"):
            headers.append(("Content-Security-Policy", _CSP))
        return respond(start_response, 200, content, headers, content_type=content_type)
