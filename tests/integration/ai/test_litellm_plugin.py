"""The litellm plugin against real LiteLLM proxies (no master key; a random master key)."""

from __future__ import annotations

from leakmap.services.base import AuthState
from leakmap.services.litellm.plugin import Litellm

from .conftest import Seeded
from .helpers import dump, run_plugin


async def test_open_litellm_models_inference_admin(litellm_open: Seeded) -> None:
    endpoint, result = await run_plugin(Litellm(), litellm_open.started.ip, 4000)
    assert endpoint is not None and result is not None
    report = result.report
    assert (report.service, report.auth) == ("litellm", AuthState.NONE)
    assert report.proof and report.proof.endswith("without a key")
    (model,) = [r for r in report.resources if r.kind == "model"]
    assert model.name == "gpt-4o-support" and model.rows == 1
    # the upstream API base is an internal host; the proxy strips the upstream key itself
    assert any(d.category == "infrastructure" for d in model.data_findings)
    assert report.capabilities.get("inference") is True
    assert report.capabilities.get("admin") is True  # no master key: admin routes answer
    assert "/spend/logs: no database" in report.notes
    rules = {f.rule: f.severity for f in result.findings}
    assert rules["litellm.capability.admin"] == "critical"
    assert rules["litellm.capability.inference"] == "high"
    assert "litellm.default-master-key" not in rules
    assert litellm_open.planted["upstream_key"] not in dump(result)


async def test_keyed_litellm_required(litellm_key: Seeded) -> None:
    endpoint, result = await run_plugin(Litellm(), litellm_key.started.ip, 4000)
    assert endpoint is not None and result is not None
    assert result.report.auth == AuthState.REQUIRED and result.report.resources == ()
    assert result.findings == ()
