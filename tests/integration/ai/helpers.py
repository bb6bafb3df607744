"""Running one AI-stack plugin against a fixture server, and looking at what came back."""

from __future__ import annotations

from typing import Any

from leakmap.classify import Classifier
from leakmap.classify.redact import value_hash
from leakmap.net.bounded import Network
from leakmap.services.base import Endpoint, OpenPort, ScanConfig, ScanContext, ServiceResult
from leakmap.services.httpapi import HttpJsonService

__all__ = ["dump", "has_value", "make_ctx", "run_plugin"]

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
