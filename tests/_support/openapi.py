"""Request bodies checked against HoneyHive's published OpenAPI documents.

Copies of the documents (``tests/specs/``, taken from ``shared/specs/``) are
the contract. This module validates a body against the request schema of one
route with ``jsonschema`` (OpenAPI 3.1 schemas are JSON Schema 2020-12) and
resolves references with ``referencing``. It uses none of the library's own
code, so a test can use it as an oracle::

    assert [] == spec_errors("POST", "/events", body)
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import yaml

__all__ = ["SPECS", "V0", "V1", "spec_errors", "validator"]

#: Where the copies of the published documents live.
SPECS = Path(__file__).resolve().parents[1] / "specs"
V0 = "v0-openapi.yaml"
V1 = "v1-dataplane-openapi.yaml"

_URI = "urn:honeyhive:"


@functools.cache
def _document(name: str) -> dict[str, Any]:
    with open(SPECS / name, encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


@functools.cache
def _registry(name: str) -> referencing.Registry[Any]:
    resource = referencing.Resource.from_contents(
        _document(name), default_specification=referencing.jsonschema.DRAFT202012
    )
    return referencing.Registry().with_resource(_URI + name, resource)


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@functools.cache
def validator(
    method: str, path: str, spec: str = V0, status: str | None = None
) -> jsonschema.Draft202012Validator:
    """The validator of the JSON request body of ``<method> <path>`` in *spec*, or
    of its answer with *status* (``"200"``) when given.

    Raises:
        KeyError: the document has no such route or no JSON body for it.
    """
    where = ("requestBody",) if status is None else ("responses", status)
    operation = _document(spec)["paths"][path][method.lower()]
    for part in where:
        operation = operation[part]
    operation["content"]["application/json"]["schema"]  # KeyError if none
    pointer = _pointer("paths", path, method.lower(), *where, "content", "application/json")
    ref = f"{_URI}{spec}#/{pointer}/schema"
    return jsonschema.Draft202012Validator({"$ref": ref}, registry=_registry(spec))


def spec_errors(
    method: str, path: str, body: Any, spec: str = V0, status: str | None = None
) -> list[str]:
    """Every way *body* (a parsed body, or its JSON bytes/text) breaks the route's
    schema (of its answer with *status*, when given).

    Returns:
        One message per violation, naming where it is (``event.inputs: ...``);
        empty when the body is valid.
    """
    if isinstance(body, (bytes, str)):
        body = json.loads(body)
    found = validator(method, path, spec, status).iter_errors(body)
    return sorted(
        f"{'.'.join(str(p) for p in error.absolute_path) or '<body>'}: {error.message}"
        for error in found
    )
