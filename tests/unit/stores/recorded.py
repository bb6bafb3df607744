"""Recorded exchanges for the stores that cannot run here: MongoDB and Elasticsearch/OpenSearch.

The replies are built from the servers' public API documentation (the MongoDB manual's
``isMaster``/``hello``, ``buildInfo``, ``listDatabases``, ``listCollections``, ``count``, ``find``
reply examples and error codes; Elasticsearch's and OpenSearch's REST reference for ``GET /``,
``_cat/indices`` and ``_search``, and their 401 bodies). The planted values are random fakes.

* :class:`RecordedMongo` - a TCP server on a random loopback address that answers OP_MSG
  commands from those documents, in one of :data:`MONGO_MODES`.
* :func:`es_transport` - an ``httpx.MockTransport`` answering like Elasticsearch 8.11 or
  OpenSearch 2.11 (open or secured), or like lookalikes.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import bson
import httpx
from bson.int64 import Int64

from leakmap.lab.addresses import random_loopback
from leakmap.services.mongodb.wire import OP_MSG

__all__ = [
    "MONGO_MODES",
    "EsMode",
    "MongoMode",
    "Planted",
    "RecordedMongo",
    "ScriptedTcp",
    "es_transport",
]

MongoMode = Literal["open", "auth", "huge", "reflect", "garbage", "silent", "canned"]
MONGO_MODES: tuple[MongoMode, ...] = (
    "open",
    "auth",
    "huge",
    "reflect",
    "garbage",
    "silent",
    "canned",
)
#: one document that has every field every command's answer needs, sent to every command
CANNED = {
    "ok": 1.0,
    "ismaster": True,
    "maxWireVersion": 17,
    "version": "6.0.12",
    "databases": [{"name": "shop", "sizeOnDisk": 1}],
    "cursor": {"id": 0, "ns": "shop.$cmd.listCollections", "firstBatch": [{"name": "orders"}]},
    "n": 1,
}
EsMode = Literal[
    "es-open",
    "os-open",
    "es-secured",
    "os-secured",
    "es-default",
    "login-page",
    "ok-reflector",
    "info-reflector",
]


@dataclass(frozen=True)
class Planted:
    secret: str
    email: str

    @property
    def raw_values(self) -> tuple[str, ...]:
        return (self.secret, self.email)


def _hello() -> dict[str, Any]:
    return {
        "ismaster": True,
        "topologyVersion": {"processId": bson.ObjectId(), "counter": Int64(0)},
        "maxBsonObjectSize": 16777216,
        "maxMessageSizeBytes": 48000000,
        "maxWriteBatchSize": 100000,
        "localTime": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "logicalSessionTimeoutMinutes": 30,
        "connectionId": 7,
        "minWireVersion": 0,
        "maxWireVersion": 17,
        "readOnly": False,
        "ok": 1.0,
    }


def _build_info() -> dict[str, Any]:
    return {
        "version": "6.0.12",
        "gitVersion": "21e6e8e11a45dfbdb7ca6cf95fa8c5f859e2b118",
        "modules": [],
        "allocator": "tcmalloc",
        "javascriptEngine": "mozjs",
        "versionArray": [6, 0, 12, 0],
        "bits": 64,
        "maxBsonObjectSize": 16777216,
        "ok": 1.0,
    }


_HINT = b"It looks like you are trying to access MongoDB over HTTP on the native driver port.\n"
HTTP_HINT = (
    b"HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_HINT), _HINT)
)

_UNAUTHORIZED = {
    "ok": 0.0,
    "errmsg": "command listDatabases requires authentication",
    "code": 13,
    "codeName": "Unauthorized",
}


class _LoopbackServer:
    """Start/stop for the recorded servers: one asyncio server on ``ip:port``; every
    connection's task is cancelled (and awaited) on exit."""

    ip: str
    port: int
    _server: asyncio.Server | None
    _tasks: set[asyncio.Task[Any]]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        self.ip = self.ip or random_loopback((self.port,))
        self._server = await asyncio.start_server(self._serve, self.ip, self.port)

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@dataclass
class RecordedMongo(_LoopbackServer):
    """OP_MSG answers from the manual's examples; ``commands`` records what was asked."""

    planted: Planted
    mode: MongoMode = "open"
    ip: str = field(default_factory=lambda: random_loopback((27017,)))
    port: int = 27017
    commands: list[str] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def documents(self, db: str, coll: str) -> list[dict[str, Any]]:
        if (db, coll) == ("chatapp", "messages"):
            return [
                {
                    "_id": bson.ObjectId(),
                    "user": self.planted.email,
                    "messages": [
                        {"role": "user", "content": "summarise my last invoice please"},
                        {"role": "assistant", "content": "Your last invoice was 42 EUR."},
                    ],
                },
                {"_id": bson.ObjectId(), "note": f"OPENAI_API_KEY={self.planted.secret}"},
            ]
        return [{"_id": i, "path": f"/page/{i}", "views": i} for i in range(3)]

    def answer(self, doc: dict[str, Any]) -> dict[str, Any]:
        name = next(iter(doc))
        db = doc.get("$db", "")
        self.commands.append(name)
        if self.mode == "canned":
            return CANNED
        if name in ("isMaster", "ismaster", "hello"):
            return _hello()
        if name in ("buildInfo", "buildinfo"):
            return _build_info()
        if self.mode == "auth":
            return {**_UNAUTHORIZED, "errmsg": f"command {name} requires authentication"}
        if name == "listDatabases":
            return {
                "databases": [
                    {"name": "admin", "sizeOnDisk": 40960, "empty": False},
                    {"name": "analytics", "sizeOnDisk": 8192, "empty": False},
                    {"name": "chatapp", "sizeOnDisk": 73728, "empty": False},
                    {"name": "local", "sizeOnDisk": 73728, "empty": False},
                ],
                "totalSize": 196608,
                "totalSizeMb": 0,
                "ok": 1.0,
            }
        if name == "listCollections":
            names = {
                "chatapp": ["messages"],
                "analytics": ["page_views"],
                "admin": ["system.version"],
            }.get(db, [])
            return {
                "cursor": {
                    "id": Int64(0),
                    "ns": f"{db}.$cmd.listCollections",
                    "firstBatch": [{"name": n, "type": "collection"} for n in names],
                },
                "ok": 1.0,
            }
        if name == "count":
            return {"n": 1200 if doc["count"] == "messages" else 3, "ok": 1.0}
        if name == "find":
            docs = self.documents(db, doc["find"])[: doc.get("limit", 0)]
            return {
                "cursor": {"firstBatch": docs, "id": Int64(0), "ns": f"{db}.{doc['find']}"},
                "ok": 1.0,
            }
        return {"ok": 0.0, "errmsg": f"no such command: '{name}'", "code": 59}

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            header = await reader.readexactly(16)
            if header.startswith(b"GET "):  # what mongod says to HTTP on its port
                writer.write(HTTP_HINT)
                await writer.drain()
                return
            length, request_id, _, opcode = struct.unpack("<iiii", header)
            body = await reader.readexactly(length - 16)
            if self.mode == "silent":
                await asyncio.sleep(3600)
            if self.mode == "reflect":
                writer.write(header + body)
                await writer.drain()
                continue
            if self.mode == "garbage":
                writer.write(b"\x00\x01garbage" * 10)
                await writer.drain()
                return
            if self.mode == "huge":
                writer.write(struct.pack("<iiii", 2_000_000_000, 1, request_id, OP_MSG))
                await writer.drain()
                await asyncio.sleep(3600)
            assert opcode == OP_MSG
            doc = bson.decode(body[5:])
            reply = struct.pack("<IB", 0, 0) + bson.encode(self.answer(doc))
            writer.write(struct.pack("<iiii", 16 + len(reply), 1, request_id, OP_MSG) + reply)
            await writer.drain()

    async def __aenter__(self) -> RecordedMongo:
        await self.start()
        return self


# --------------------------------------------------------------------- Elasticsearch


def _es_info(opensearch: bool) -> dict[str, Any]:
    if opensearch:
        return {
            "name": "opensearch-node1",
            "cluster_name": "opensearch-cluster",
            "cluster_uuid": "Fq2bQ4xQTm2n0cV8WcHq3A",
            "version": {
                "distribution": "opensearch",
                "number": "2.11.0",
                "build_type": "tar",
                "lucene_version": "9.7.0",
                "minimum_wire_compatibility_version": "7.10.0",
            },
            "tagline": "The OpenSearch Project: https://opensearch.org/",
        }
    return {
        "name": "es01",
        "cluster_name": "docker-cluster",
        "cluster_uuid": "OkLp9aIkQh2pDgU0Q6yWmw",
        "version": {
            "number": "8.11.1",
            "build_flavor": "default",
            "build_type": "docker",
            "lucene_version": "9.8.0",
            "minimum_wire_compatibility_version": "7.17.0",
        },
        "tagline": "You Know, for Search",
    }


def es_transport(mode: EsMode, planted: Planted, log: list[str]) -> httpx.MockTransport:
    """A MockTransport answering as ``mode``; ``log`` records ``METHOD path``."""

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        log.append(f"{request.method} {path}")
        if mode == "info-reflector":  # the cluster-info document to every request
            return httpx.Response(200, json=_es_info(False))
        if mode == "ok-reflector":
            return httpx.Response(200, text="Ok.\n")
        if mode == "login-page":
            return httpx.Response(200, html="<html><form action=/login>Sign in</form></html>")
        shipped = "Basic " + base64.b64encode(b"elastic:changeme").decode()
        if mode == "es-default" and request.headers.get("authorization") == shipped:
            mode_now: EsMode = "es-open"
        else:
            mode_now = "es-secured" if mode == "es-default" else mode
        if mode_now == "es-secured":
            return httpx.Response(
                401,
                headers={"WWW-Authenticate": 'Basic realm="security" charset="UTF-8"'},
                json={
                    "error": {
                        "root_cause": [
                            {
                                "type": "security_exception",
                                "reason": f"missing authentication credentials for REST "
                                f"request [{path}]",
                            }
                        ],
                        "type": "security_exception",
                        "reason": f"missing authentication credentials for REST request [{path}]",
                    },
                    "status": 401,
                },
            )
        if mode == "os-secured":
            return httpx.Response(
                401,
                headers={"WWW-Authenticate": 'Basic realm="OpenSearch Security"'},
                text="Unauthorized",
            )
        if path == "/":
            return httpx.Response(200, json=_es_info(mode_now == "os-open"))
        if path == "/_cat/indices":
            return httpx.Response(
                200,
                json=[
                    {"index": "chat-logs-2024.06", "docs.count": "1200", "store.size": "88000"},
                    {"index": "products", "docs.count": "3", "store.size": "4000"},
                    {"index": ".security-7", "docs.count": "40", "store.size": "1000"},
                ],
            )
        if path.endswith("/_search"):
            index = path.split("/")[1]
            if index not in ("chat-logs-2024.06", "products", ".security-7"):
                reason = f"no such index [{index}]"
                cause = {"type": "index_not_found_exception", "reason": reason, "index": index}
                return httpx.Response(
                    404, json={"error": {**cause, "root_cause": [cause]}, "status": 404}
                )
            if index.startswith("."):
                return httpx.Response(403, json={"error": "forbidden"})
            sources: list[dict[str, Any]]
            if index.startswith("chat"):
                sources = [
                    {
                        "user": planted.email,
                        "request": json.dumps(
                            {"messages": [{"role": "user", "content": "reset my password"}]}
                        ),
                        "headers": {"authorization": f"Bearer {planted.secret}"},
                    }
                ]
            else:
                sources = [{"name": "chair", "price": 12}]
            return httpx.Response(
                200,
                json={
                    "took": 2,
                    "timed_out": False,
                    "hits": {
                        "total": {"value": len(sources), "relation": "eq"},
                        "hits": [
                            {"_index": index, "_id": str(i), "_score": 1.0, "_source": s}
                            for i, s in enumerate(sources)
                        ],
                    },
                },
            )
        return httpx.Response(404, json={"error": "not found"})

    return httpx.MockTransport(handler)


# --------------------------------------------------------------------- scripted TCP


Script = Callable[[bytes], bytes | None]


@dataclass
class ScriptedTcp(_LoopbackServer):
    """A loopback TCP server answering each chunk it receives with ``script(chunk)``
    (None: say nothing); ``close_after`` closes after the first answer."""

    script: Script
    port: int
    ip: str = ""
    close_after: bool = False
    received: list[bytes] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            self.received.append(chunk)
            answer = self.script(chunk)
            if answer:
                writer.write(answer)
                await writer.drain()
            if self.close_after:
                return

    async def __aenter__(self) -> ScriptedTcp:
        await self.start()
        return self
