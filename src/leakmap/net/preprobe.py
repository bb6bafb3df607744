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

At most three connections, every read bounded by :data:`MAX_BYTES` and the scan's timeouts,
whatever the number of plugins. Each plugin then decides from the cached
:class:`~leakmap.services.base.PreProbe` (``Service.accepts``, pure) whether its own
fingerprint is worth a request. Never raises for anything a server does.
"""

from __future__ import annotations

import asyncio
import contextlib

from leakmap.net.bounded import Network
from leakmap.services.base import HttpAnswer, PreProbe, ScanConfig

__all__ = ["MAX_BYTES", "parse_http_answer", "preprobe"]

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


async def _read(reader: asyncio.StreamReader, timeout: float, *, http: bool) -> bytes:
    """Up to MAX_BYTES within ``timeout``; stops early at EOF or a complete HTTP answer."""
    buf = bytearray()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(buf) < MAX_BYTES:
        left = deadline - loop.time()
        if left <= 0:
            break
        try:
            chunk = await asyncio.wait_for(reader.read(MAX_BYTES - len(buf)), left)
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            break
        if not chunk:
            break
        buf += chunk
        if not http or _answer_complete(bytes(buf)):
            break
    return bytes(buf)


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


async def _plain(network: Network, ip: str, port: int, config: ScanConfig) -> PreProbe | bytes:
    """Banner or plain GET; the bytes of a non-HTTP reply when TLS is worth a try."""
    reader, writer = await network.open_tcp(ip, port)
    try:
        banner = await _read(reader, min(config.banner_wait, config.read_timeout), http=False)
        if banner:
            return PreProbe("banner", banner=banner)
        if reader.at_eof():
            return b""
        writer.write(_request(ip, port, config))
        await asyncio.wait_for(writer.drain(), config.read_timeout)
        raw = await _read(reader, config.read_timeout, http=True)
    finally:
        await _close(writer)
    answer = parse_http_answer(raw)
    if answer is not None:
        return PreProbe("http", http=answer)
    if raw and not raw.startswith(b"\x15\x03"):
        return PreProbe("reply", reply=raw)
    return raw


async def _tls(network: Network, ip: str, port: int, config: ScanConfig) -> PreProbe | None:
    reader, writer = await network.open_tcp(ip, port, tls=True)
    try:
        writer.write(_request(ip, port, config))
        await asyncio.wait_for(writer.drain(), config.read_timeout)
        raw = await _read(reader, config.read_timeout, http=True)
    finally:
        await _close(writer)
    answer = parse_http_answer(raw, tls=True)
    if answer is not None:
        return PreProbe("https", http=answer)
    return PreProbe("reply", reply=raw) if raw else None


async def preprobe(network: Network, ip: str, port: int, config: ScanConfig) -> PreProbe:
    """Look at ``ip:port`` once (see the module docstring); never raises."""
    budget = config.connect_timeout * 2 + config.banner_wait + config.read_timeout * 2 + 1
    try:
        async with asyncio.timeout(budget):
            try:
                plain = await _plain(network, ip, port, config)
            except (OSError, TimeoutError, ValueError):
                plain = b""
            if isinstance(plain, PreProbe):
                return plain
            try:
                secure = await _tls(network, ip, port, config)
            except (OSError, TimeoutError, ValueError):
                secure = None
            if secure is not None:
                return secure
            return PreProbe("reply", reply=plain) if plain else PreProbe("silent")
    except Exception:  # anything a hostile server provokes: the port stays unexplained
        return PreProbe("silent")
