"""Run a test server inside a fresh network namespace, bridged to the outside by a Unix socket.

Started by :mod:`tests.integration.ai.netns` as ``unshare -n -- python _inside.py SOCK PORT --
PROGRAM ARGS...`` (stdlib only: it runs with whatever python starts it). Inside the new
namespace only ``lo`` exists, brought up here, so the server cannot reach anything but itself:
telemetry, model downloads, price lists and DNS probes fail at once instead of leaving the
machine. The server listens on 127.0.0.1:PORT of that namespace; every connection accepted on
the Unix socket SOCK (a file, visible outside) is joined to it. The server is this script's
child; when the server exits this script exits; when this script dies the server gets SIGKILL
(PR_SET_PDEATHSIG), and when the process that started this script dies, this script stops the
server (its parent pid is polled: PR_SET_PDEATHSIG here would fire when the starting *thread*
ends, e.g. a thread pool's worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _join(port: int, outer_r: asyncio.StreamReader, outer_w: asyncio.StreamWriter) -> None:
    try:
        inner_r, inner_w = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        outer_w.close()
        return
    await asyncio.gather(_pipe(outer_r, inner_w), _pipe(inner_r, outer_w))


async def _orphaned(parent: int, proc: subprocess.Popen[bytes]) -> None:
    while os.getppid() == parent:
        await asyncio.sleep(0.5)
    proc.kill()


async def _main(sock: str, port: int, argv: list[str]) -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    proc = subprocess.Popen(argv, preexec_fn=_die_with_parent)
    server = await asyncio.start_unix_server(lambda r, w: _join(port, r, w), path=sock)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, proc.terminate)
    watch = asyncio.create_task(_orphaned(os.getppid(), proc))
    try:
        return await asyncio.to_thread(proc.wait)
    finally:
        watch.cancel()
        server.close()
        with contextlib.suppress(OSError):
            os.unlink(sock)


if __name__ == "__main__":
    sock_path, inner_port, sep, *program = sys.argv[1:]
    assert sep == "--" and program, "usage: _inside.py SOCK PORT -- PROGRAM ARGS..."
    sys.exit(asyncio.run(_main(sock_path, int(inner_port), program)))
