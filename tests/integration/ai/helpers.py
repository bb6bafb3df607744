"""Running one AI-stack plugin against a fixture server, and looking at what came back."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any
from urllib.parse import urlsplit

from leakmap.classify import Classifier
from leakmap.classify.redact import value_hash
from leakmap.lab.addresses import random_loopback
from leakmap.net.bounded import Network
from leakmap.services.base import Endpoint, OpenPort, ScanConfig, ScanContext, ServiceResult
from leakmap.services.httpapi import HttpJsonService

__all__ = ["Answer", "dump", "has_value", "make_ctx", "replay", "run_plugin", "serve_http"]

#: (status, content type, body)
Answer = tuple[int, str, bytes]

_CLASSIFIER: list[Classifier] = []


def make_ctx(**cfg: object) -> ScanContext:
    if not _CLASSIFIER:
        _CLASSIFIER.append(Classifier.load())
    config = ScanConfig(**cfg)  # type: ignore[arg-type]
    network = Network(
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        max_response_bytes=config.max_response_bytes,
        user_agent=config.user_agent,
    )
    return ScanContext(config, network, _CLASSIFIER[0])


async def run_plugin(
    plugin: HttpJsonService[Any], ip: str, port: int, ctx: ScanContext | None = None
) -> tuple[Endpoint | None, ServiceResult | None]:
    ctx = ctx or make_ctx()
    endpoint = await plugin.fingerprint(OpenPort(ip, ip, port), ctx)
    if endpoint is None:
        return None, None
    return endpoint, await plugin.assess(endpoint, ctx)


def dump(result: ServiceResult) -> str:
    return result.report.model_dump_json() + "".join(f.model_dump_json() for f in result.findings)


def has_value(result: ServiceResult, value: str, category: str) -> bool:
    """A data finding of ``category`` whose redacted example is ``value``'s (hash suffix)."""
    suffix = "#" + value_hash(value)[:6]
    return any(
        d.category == category and d.example.endswith(suffix)
        for r in result.report.resources
        for d in r.data_findings
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    answer: Callable[[str, str], Answer]

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 1 << 20:
            self.rfile.read(length)
        status, ctype, body = type(self).answer(self.command, self.path)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextmanager
def serve_http(port: int, answer: Callable[[str, str], Answer]) -> Iterator[str]:
    """A threaded HTTP server on a random loopback address and ``port`` answering every
    request with ``answer(method, path_with_query)``; yields its address."""
    handler = type("H", (_Handler,), {"answer": staticmethod(answer)})
    server = ThreadingHTTPServer((random_loopback((port,)), port), handler)
    server.daemon_threads = True
    thread = Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield str(server.server_address[0])
    finally:
        server.shutdown()
        server.server_close()


def replay(routes: dict[tuple[str, str], tuple[int, Any]]) -> Callable[[str, str], Answer]:
    """An ``answer`` for :func:`serve_http` from recorded ``(method, path) -> (status,
    JSON body)`` routes (the query string is ignored; anything else is a 404)."""

    def answer(method: str, path: str) -> Answer:
        status, body = routes.get((method, urlsplit(path).path), (404, {"detail": "Not Found"}))
        return status, "application/json", json.dumps(body).encode()

    return answer
