"""The jupyter plugin against real Jupyter Servers (open and token), read-only proven from the
server's own API and its directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from leakmap.services.base import AuthState, Endpoint, ScanContext, ServiceReport
from leakmap.services.common.budget import Deadline
from leakmap.services.httpapi import HttpApi
from leakmap.services.jupyter.plugin import Jupyter

from .conftest import Seeded
from .helpers import dump, has_value, run_plugin

Snapshot = tuple[dict[str, tuple[int, int]], dict[str, list[object]]]


def snapshot(server: Seeded) -> Snapshot:
    """Every file under the server's directory (root, config, data, runtime) with size and
    mtime, and what its API says runs (kernels, sessions, terminals)."""
    base: Path = server.started.server.dir
    files = {}
    for path in base.rglob("*"):
        rel = str(path.relative_to(base))
        if rel in ("server.log", "relay.sock") or not path.is_file():
            continue
        st = path.stat()
        files[rel] = (st.st_size, st.st_mtime_ns)
    api = {}
    with httpx.Client(base_url=server.started.url, trust_env=False, timeout=10) as c:
        for what in ("kernels", "sessions", "terminals"):
            api[what] = c.get(f"/api/{what}").json()
    return files, api


def assert_untouched(before: Snapshot, after: Snapshot) -> None:
    files_before, api_before = before
    files_after, api_after = after
    assert files_after == files_before, "files created or changed on the server"
    assert api_after == api_before, "kernels, sessions or terminals started"
    assert not any(".ipynb_checkpoints" in p for p in files_after)
    assert not any(p.endswith("nbsignatures.db") for p in files_after)


async def test_open_jupyter_found_sampled_and_code_execution(jupyter_open: Seeded) -> None:
    before = snapshot(jupyter_open)
    endpoint, result = await run_plugin(Jupyter(), jupyter_open.started.ip, 8888)
    assert endpoint is not None and result is not None
    report = result.report
    assert (report.service, report.transport, report.auth) == ("jupyter", "http", AuthState.NONE)
    assert report.proof and "/api/status" in report.proof
    assert report.version and report.version.startswith("2.")
    names = {r.name: r for r in report.resources}
    notebook = names["projects/support-bot/triage.ipynb"]
    assert notebook.kind == "notebook" and notebook.rows == 2
    planted = jupyter_open.planted
    assert has_value(result, planted["openai_key"], "secret")
    assert any(d.category == "chat" for d in notebook.data_findings)
    assert has_value(result, planted["email"], "pii")
    assert report.capabilities.get("code-execution") is True
    assert report.capabilities.get("terminal") is True
    rules = {f.rule: f for f in result.findings}
    assert rules["jupyter.capability.code-execution"].severity == "critical"
    assert rules["jupyter.open-access"].severity == "critical"
    assert {"jupyter.data.secret", "jupyter.data.chat", "jupyter.data.pii"} <= set(rules)
    text = dump(result)
    for raw in (planted["openai_key"], planted["email"]):
        assert raw not in text
    assert "card was charged twice" not in text
    assert_untouched(before, snapshot(jupyter_open))


async def test_token_jupyter_required_nothing_sampled(jupyter_token: Seeded) -> None:
    endpoint, result = await run_plugin(Jupyter(), jupyter_token.started.ip, 8888)
    assert endpoint is not None and result is not None
    report = result.report
    assert report.auth == AuthState.REQUIRED and report.proof is None
    assert report.version  # /api answers without the token by design
    assert report.resources == () and "login: token" in report.notes
    assert report.capabilities.items() == []
    assert result.findings == ()


class _KernelStarter(Jupyter):
    """A mutant: after its read-only work it starts a kernel (what the plugin must never do)."""

    started: ClassVar[list[str]] = []

    async def examine(
        self, api: HttpApi, endpoint: Endpoint, ctx: ScanContext, deadline: Deadline
    ) -> ServiceReport:
        report = await super().examine(api, endpoint, ctx, deadline)
        await api.client.get("/")  # the HTML page sets the _xsrf cookie
        xsrf = api.client.cookies.get("_xsrf") or ""
        resp = await api.client.post("/api/kernels", json={}, headers={"X-XSRFToken": xsrf})
        self.started.append(resp.json()["id"])
        return report


async def test_read_only_check_catches_a_kernel_starting_mutant(jupyter_open: Seeded) -> None:
    """The snapshot comparison above is a real proof: a plugin that starts a kernel fails it."""
    before = snapshot(jupyter_open)
    await run_plugin(_KernelStarter(), jupyter_open.started.ip, 8888)
    assert _KernelStarter.started, "the mutant did not start a kernel"
    try:
        with pytest.raises(AssertionError):
            assert_untouched(before, snapshot(jupyter_open))
    finally:
        with httpx.Client(base_url=jupyter_open.started.url, trust_env=False, timeout=30) as c:
            for kid in _KernelStarter.started:
                c.get("/")
                headers = {"X-XSRFToken": c.cookies.get("_xsrf") or ""}
                c.delete(f"/api/kernels/{kid}", headers=headers)
        assert os.path.isdir(jupyter_open.started.server.dir)
