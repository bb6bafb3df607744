"""The shared pre-probe: one bounded look at an open port, made once for every plugin.

Dispatch must not grow with the number of plugins (issue 9). So before any plugin runs, the
pipeline looks at the port once:

1. connect and wait ``banner_wait`` seconds: a server that speaks first (MySQL, SSH, SMTP,
   FTP, ...) gives its ``banner`` -> family ``banner``;
2. otherwise send one ``GET / HTTP/1.0`` on the same connection: an HTTP answer is family
   ``http`` (status, headers, the body's first bytes); anything else the server sends back
   (RESP ``-ERR``, memcached ``ERROR``, a binary error packet) is family ``reply``;
3. when that got no byte, or a TLS alert: the same ``GET /`` over TLS (certificates not
   checked) -> family ``https``; otherwise ``reply`` (the alert) or ``silent``.

Steps 1-2 are :func:`first_look`, step 3 :func:`finish`; :func:`preprobe` runs both. A server
that hangs up on the plain ``GET /`` without a byte (Redis 7 takes ``Host:`` for a
cross-protocol attack and drops the connection; PostgreSQL refuses the length ``GET `` spells)
is marked ``closed``: the first look is then ``PreProbe("silent", closed=True)``, and the
pipeline lets the plugins that accept such a port try before the TLS step, whose handshake
timeout is the slow part of a look at a binary protocol.

At most three connections, every read bounded by :data:`MAX_BYTES` and the scan's timeouts,
whatever the number of plugins. Each plugin then decides from the cached
:class:`~leakmap.services.base.PreProbe` (``Service.accepts``, pure) whether its own
fingerprint is worth a request. Never raises for anything a server does.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, replace

from leakmap.net.bounded import Network
from leakmap.services.base import HttpAnswer, PreProbe, ScanConfig

__all__ = ["MAX_BYTES", "FirstLook", "finish", "first_look", "parse_http_answer", "preprobe"]

#: bytes kept of a banner, a reply or an HTTP answer (headers + body start)
MAX_BYTES = 64 * 1024
_MAX_HEADERS = 100


def parse_http_answer(raw: bytes, *, tls: bool = False) -> HttpAnswer | None:
    """An HTTP/1.x answer's status, headers and body start; None when ``raw`` is not one."""
    if not raw.startswith(b"HTTP/"):
        return None
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    lines = head.decode("latin-1").splitlines()
    parts = lines[0].split(" ", 2) if lines else []
    # ASCII digits only: str.isdigit() also accepts '²³¹', which int() refuses
    if len(parts) < 2 or not parts[1].isascii() or not parts[1].isdigit() or len(parts[1]) != 3:
        return None
    headers: dict[str, str] = {}
    for line in lines[1 : 1 + _MAX_HEADERS]:
        name, colon, value = line.partition(":")
        if colon and name.strip():
            key = name.strip()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return HttpAnswer(int(parts[1]), headers, body, tls)


def _answer_complete(buf: bytes) -> bool:
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return False
    low = head.lower()
    marker = b"\ncontent-length:"
    at = low.find(marker)
    if at >= 0:
        end = low.find(b"\n", at + 1)
        value = low[at + len(marker) : end if end >= 0 else None].strip()
        return value.isascii() and value.isdigit() and len(body) >= int(value)
    return b"transfer-encoding: chunked" in low and body.endswith(b"0\r\n\r\n")


async def _read(reader: asyncio.StreamReader, timeout: float, *, http: bool) -> tuple[bytes, bool]:
    """Up to MAX_BYTES within ``timeout``; stops early at EOF or a complete HTTP answer.
    Also says whether the server ended the connection (EOF or reset) before the timeout."""
    buf = bytearray()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    ended = False
    while len(buf) < MAX_BYTES:
        left = deadline - loop.time()
        if left <= 0:
            break
        try:
            chunk = await asyncio.wait_for(reader.read(MAX_BYTES - len(buf)), left)
        except TimeoutError:
            break
        except (OSError, asyncio.IncompleteReadError):
            ended = True
            break
        if not chunk:
            ended = True
            break
        buf += chunk
        if not http or _answer_complete(bytes(buf)):
            break
    return bytes(buf), ended


def _request(ip: str, port: int, config: ScanConfig) -> bytes:
    host = f"[{ip}]" if ":" in ip else ip
    return (
        f"GET / HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: {config.user_agent}\r\n"
        "Accept: */*\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
    ).encode("latin-1", "replace")


async def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), 1.0)


@dataclass(frozen=True, slots=True)
class FirstLook:
    """Steps 1-2 of the pre-probe: a final ``pre``, or what the TLS step starts from."""

    pre: PreProbe | None
    #: a non-HTTP reply of the plain ``GET /`` worth a TLS try (a TLS alert), else b""
    raw: bytes = b""
    #: the server hung up on the plain ``GET /`` without sending a byte
    closed: bool = False

    @property
    def provisional(self) -> PreProbe:
        """What is known before the TLS step: the final answer, or ``silent`` (``closed``)."""
        return self.pre if self.pre is not None else PreProbe("silent", closed=self.closed)


async def _plain(network: Network, ip: str, port: int, config: ScanConfig) -> FirstLook:
    """Banner or plain GET."""
    reader, writer = await network.open_tcp(ip, port)
    try:
        banner, _ = await _read(reader, min(config.banner_wait, config.read_timeout), http=False)
        if banner:
            return FirstLook(PreProbe("banner", banner=banner))
        if reader.at_eof():
            return FirstLook(None)
        writer.write(_request(ip, port, config))
        await asyncio.wait_for(writer.drain(), config.read_timeout)
        raw, ended = await _read(reader, config.read_timeout, http=True)
    finally:
        await _close(writer)
    answer = parse_http_answer(raw)
    if answer is not None:
        return FirstLook(PreProbe("http", http=answer))
    if raw and not raw.startswith(b"\x15\x03"):
        return FirstLook(PreProbe("reply", reply=raw))
    return FirstLook(None, raw, closed=ended and not raw)


async def _tls(network: Network, ip: str, port: int, config: ScanConfig) -> PreProbe | None:
    reader, writer = await network.open_tcp(ip, port, tls=True)
    try:
        writer.write(_request(ip, port, config))
        await asyncio.wait_for(writer.drain(), config.read_timeout)
        raw, _ = await _read(reader, config.read_timeout, http=True)
    finally:
        await _close(writer)
    answer = parse_http_answer(raw, tls=True)
    if answer is not None:
        return PreProbe("https", http=answer)
    return PreProbe("reply", reply=raw) if raw else None


async def first_look(network: Network, ip: str, port: int, config: ScanConfig) -> FirstLook:
    """Steps 1-2 (banner, plain ``GET /``); never raises."""
    budget = config.connect_timeout + config.banner_wait + config.read_timeout * 2 + 1
    try:
        async with asyncio.timeout(budget):
            return await _plain(network, ip, port, config)
    except Exception:  # refused, reset, timed out, or anything a hostile server provokes
        return FirstLook(None)


async def finish(
    network: Network, ip: str, port: int, config: ScanConfig, look: FirstLook
) -> PreProbe:
    """Step 3 after ``look`` (the TLS ``GET /`` when the plain one explained nothing)."""
    if look.pre is not None:
        return look.pre
    try:
        async with asyncio.timeout(config.connect_timeout + config.read_timeout * 2 + 1):
            secure = await _tls(network, ip, port, config)
    except Exception:  # anything a hostile server provokes: the port stays unexplained
        secure = None
    if secure is not None:
        return replace(secure, closed=True) if look.closed else secure
    if look.raw:
        return PreProbe("reply", reply=look.raw)
    return PreProbe("silent", closed=look.closed)


async def preprobe(network: Network, ip: str, port: int, config: ScanConfig) -> PreProbe:
    """Look at ``ip:port`` once (see the module docstring); never raises."""
    look = await first_look(network, ip, port, config)
    return await finish(network, ip, port, config, look)
