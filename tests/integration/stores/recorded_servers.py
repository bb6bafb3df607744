"""The recorded MongoDB and Elasticsearch exchanges (tests/unit/stores/recorded.py) served on
real loopback sockets, so one ``leakmap scan`` can cover them next to the real servers.

* :class:`RecordedEsServer` - an HTTP server on ``ip:9200`` answering through the recorded
  ``httpx.MockTransport`` handler (Elasticsearch 8.11 open, or secured).
* :class:`RecordedMongoServer` - :class:`~tests.unit.stores.recorded.RecordedMongo` on
  ``ip:27017``, run by its own event loop in a daemon thread.

Both are recordings built from the public API documentation, not working servers.
"""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from leakmap.lab.addresses import random_loopback
from tests.unit.stores.recorded import EsMode, MongoMode, Planted, RecordedMongo, es_transport

__all__ = ["RecordedEsServer", "RecordedMongoServer"]


class RecordedEsServer:
    def __init__(self, mode: EsMode, planted: Planted) -> None:
        self.planted = planted
        self.ip = random_loopback((9200,))
        self.port = 9200
        self.log: list[str] = []
        transport = es_transport(mode, planted, self.log)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                request = httpx.Request(
                    self.command, f"http://es{self.path}", headers=dict(self.headers.items())
                )
                response = transport.handle_request(request)
                body = response.read()
                self.send_response(response.status_code)
                for k, v in response.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer((self.ip, self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> RecordedEsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class RecordedMongoServer:
    def __init__(self, mode: MongoMode, planted: Planted) -> None:
        self.planted = planted
        self.mongo = RecordedMongo(planted, mode)
        self.ip, self.port = self.mongo.ip, self.mongo.port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def commands(self) -> list[str]:
        return self.mongo.commands

    def start(self) -> RecordedMongoServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.mongo.__aenter__(), self._loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.mongo.__aexit__(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
