"""Helpers shared by the tests: importable modules, never collected as tests.

- :mod:`tests._support.wire`: the test API key and readers of what was posted.
- :mod:`tests._support.collector`: events, raw HTTP and subprocesses for the
  collector, CLI and viewer tests.
- :mod:`tests._support.contract`: an independent checker of ``model_event`` bodies.
- :mod:`tests._support.fake_provider`: a fake OpenAI/Anthropic API on 127.0.0.1.
- :mod:`tests._support.openapi`: request bodies checked against HoneyHive's published
  OpenAPI documents (copies in ``tests/specs/``) with ``jsonschema``.
- :mod:`tests._support.recorder`: a stdlib server speaking HoneyHive's v0 routes that
  can be down, for ordering tests.
- :mod:`tests._support.properties`: the property tests' strategies and checks.
"""
