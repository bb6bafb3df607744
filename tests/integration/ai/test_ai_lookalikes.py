"""Lookalikes of the AI-stack APIs are never called open: reflectors of a documented answer,
an empty list behind an auth proxy, a login page answering 200 - each scanned 5 times."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from leakmap.services.base import AuthState
from leakmap.services.chroma.plugin import Chroma
from leakmap.services.httpapi import HttpJsonService
from leakmap.services.jupyter.plugin import Jupyter
from leakmap.services.mlflow.plugin import Mlflow
from leakmap.services.prometheus.plugin import Prometheus

from .helpers import Answer, make_ctx, run_plugin, serve_http

Responder = Callable[[str], Answer]

LOGIN = b"<!doctype html><html><title>Sign in</title><form><input name=password></form></html>"


def _json(doc: object) -> Answer:
    return 200, "application/json", json.dumps(doc).encode()


def reflect(doc: object) -> Responder:
    return lambda path: _json(doc)


def heartbeat_then_empty(path: str) -> Answer:
    if "heartbeat" in path:
        return _json({"nanosecond heartbeat": 1796016442342487948})
    if path.startswith("/api/v2/version"):
        return _json("1.0.0")
    return _json([])


CASES: dict[str, tuple[HttpJsonService[Any], int, Responder]] = {
    "jupyter-version-reflector": (Jupyter(), 8888, reflect({"version": "2.14.0"})),
    "jupyter-status-reflector": (
        Jupyter(),
        8888,
        reflect({"version": "2.14.0", "kernels": 0, "connections": 0, "started": "x"}),
    ),
    "mlflow-login-page": (Mlflow(), 5000, lambda path: (200, "text/html", LOGIN)),
    "mlflow-listing-reflector": (
        Mlflow(),
        5000,
        reflect({"experiments": [{"experiment_id": "0", "name": "Default"}]}),
    ),
    "chroma-empty-list-behind-auth": (Chroma(), 8000, heartbeat_then_empty),
    "chroma-heartbeat-reflector": (Chroma(), 8000, reflect({"nanosecond heartbeat": 1})),
    "prometheus-buildinfo-reflector": (
        Prometheus(),
        9090,
        reflect({"status": "success", "data": {"version": "2.42.0", "revision": "x"}}),
    ),
}


@pytest.fixture(params=sorted(CASES))
def lookalike(request: pytest.FixtureRequest) -> Iterator[tuple[HttpJsonService[Any], str, int]]:
    plugin, port, responder = CASES[request.param]
    with serve_http(port, lambda method, path: responder(path)) as ip:
        yield plugin, ip, port


async def test_lookalike_never_open(lookalike: tuple[HttpJsonService[Any], str, int]) -> None:
    plugin, ip, port = lookalike
    for _ in range(5):  # deterministic paths; the hostile suite repeats 20 times
        ctx = make_ctx(connect_timeout=1.0, read_timeout=1.0, banner_wait=0.05)
        _, result = await run_plugin(plugin, ip, port, ctx)
        if result is not None:
            assert result.report.auth != AuthState.NONE, result.report.notes
            assert result.report.resources == ()
            assert all(f.rule.endswith("auth-unknown") for f in result.findings)
