"""A TLS terminator in front of a real lab ClickHouse, for the HTTPS and native-TLS paths.

The lab's clickhouse-server runs without certificates, so :class:`TlsTerminator` listens with
TLS on its own loopback address (a fresh self-signed certificate made by ``openssl``) and
relays every connection, byte for byte, to one plain port of the real server - exactly what a
load balancer doing TLS offload in front of ClickHouse looks like to a scanner.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

from leakmap.lab.addresses import require_loopback

__all__ = ["TlsTerminator", "openssl_available", "self_signed"]


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


def self_signed(
    directory: Path, *, subject: str = "/CN=leakmap-test", expired: bool = False
) -> tuple[Path, Path]:
    """A throw-away self-signed EC certificate, made with the ``openssl`` command
    (``expired``: re-signed to have ended yesterday)."""
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key_path), "-out", str(cert_path),
            "-days", "1", "-subj", subject,
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    if expired:
        subprocess.run(
            ["openssl", "x509", "-in", str(cert_path), "-key", str(key_path),
             "-days", "-1", "-out", str(cert_path)],
            check=True,
            capture_output=True,
            timeout=30,
        )  # fmt: skip
    return cert_path, key_path


def _pump(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    for s in (src, dst):
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)


class TlsTerminator:
    """TLS on ``ip:port`` relayed to ``backend`` (a plain ``(ip, port)`` on loopback)."""

    def __init__(self, ip: str, port: int, backend: tuple[str, int]) -> None:
        self.ip = require_loopback(ip)
        self.port = port
        self.backend = (require_loopback(backend[0]), backend[1])
        self._tmp = tempfile.TemporaryDirectory(prefix="leakmap-tls-")
        cert, key = self_signed(Path(self._tmp.name))
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(cert, key)
        self._sock: socket.socket | None = None
        self._stop = threading.Event()

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.ip, self.port))
        sock.listen(16)
        sock.settimeout(0.2)
        self._sock = sock
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                raw, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._relay, args=(raw,), daemon=True).start()

    def _relay(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        try:
            tls = self._ctx.wrap_socket(raw, server_side=True)
            backend = socket.create_connection(self.backend, timeout=10)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        threading.Thread(target=_pump, args=(tls, backend), daemon=True).start()
        _pump(backend, tls)

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()
        self._tmp.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
