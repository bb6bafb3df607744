"""The Jupyter Server plugin (Jupyter Server, Notebook, JupyterLab): prove access, walk the
contents, sample notebooks and text files, list what runs, and state code execution -
read-only, without starting a kernel, a session or a terminal.

What it reports, for a server started without a token::

    jupyter 10.0.0.7:8888 http 2.21.1 auth=none
      notebook projects/support-bot/triage.ipynb  2 cells  secret x1, chat x2
      capabilities: code-execution=True terminal=True write=True
    critical  jupyter.capability.code-execution  kernels can be started by anyone (python3)
    critical  jupyter.open-access                 no token or password: /api/status answered ...
    critical  jupyter.data.secret                 projects/support-bot/triage.ipynb: ...

Decisions worth knowing:

* ``/api`` answers its version without a token by design: identity, never access. Auth
  ``none`` needs ``/api/status`` with integer ``kernels`` and ``connections`` and the root
  directory model from ``/api/contents`` (the proof);
  ``401``/``403`` there is ``required`` (the login page says token or password).
* code execution is decided from answers, not by trying: Jupyter Server 2's
  ``/api/me?permissions=`` says whether this caller may ``execute`` kernels and terminals; on
  servers without it (Notebook < 7, Server 1.x) an open server with a kernel spec can start
  kernels. Kernels that already run are listed (anyone can attach to them).
* notebooks are read as raw files (``type=file&format=text``), so the server builds no
  notebook model: no trust database is opened, no checkpoint made.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from leakmap.findings import Finding, Severity
from leakmap.services.base import (
    AuthState,
    Capabilities,
    Coverage,
    Endpoint,
    PreProbe,
    Resource,
    ScanContext,
    ServiceReport,
)
from leakmap.services.common.catalogue import Catalogue, rule
from leakmap.services.common.sample import classify_sample
from leakmap.services.httpapi import HttpApi, HttpJsonService, Identity
from leakmap.services.jupyter.api import JupyterFacts, WalkLimits, parse_version, read_jupyter

__all__ = ["CATALOGUE", "Jupyter"]

_DOCS = "https://jupyter-server.readthedocs.io/en/latest/"
_SECURITY = _DOCS + "operators/security.html"
PROOF = (
    "/api/status answered kernels and connections as integers and /api/contents a directory "
    "model, without a token"
)

CATALOGUE = Catalogue(
    "jupyter",
    [
        rule(
            "jupyter.open-access",
            Severity.CRITICAL,
            "Jupyter server answers its API without a token or password",
            "Start the server with a token or password (IdentityProvider.token, "
            "PasswordIdentityProvider.hashed_password), bind it to localhost (ServerApp.ip) "
            "and reach it through an SSH tunnel or an authenticating proxy.",
            _SECURITY,
        ),
        rule(
            "jupyter.auth-unknown",
            Severity.LOW,
            "Jupyter server reachable but its access state could not be determined",
            "Check by hand whether /api/status needs a token from this network; firewall "
            "the port if it need not be reachable.",
            _SECURITY,
        ),
        rule(
            "jupyter.capability.code-execution",
            Severity.CRITICAL,
            "Anyone can start kernels or terminals: code execution on the server",
            "Require a token or password now; run notebooks as an unprivileged user in a "
            "container without cloud credentials; disable terminals "
            "(ServerApp.terminals_enabled=False) where not needed.",
            _SECURITY,
        ),
        rule(
            "jupyter.capability.write",
            Severity.HIGH,
            "Anyone can write, upload and delete files through the contents API",
            "Require a token or password; keep the server's root directory to the project.",
            _SECURITY,
        ),
        rule(
            "jupyter.running-kernels",
            Severity.HIGH,
            "Running kernels are listed and can be attached to without credentials",
            "Require a token or password and shut down idle kernels "
            "(MappingKernelManager.cull_idle_timeout).",
            _DOCS + "api/jupyter_server.services.kernels.html",
        ),
    ],
    data_noun="notebook or file",
)


class Jupyter(HttpJsonService[JupyterFacts]):
    """Jupyter Server / Notebook / JupyterLab over its REST API."""

    name: ClassVar[str] = "jupyter"
    default_ports: ClassVar[Mapping[int, str]] = MappingProxyType({8888: "http"})
    capabilities: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "code-execution": "kernels can be started (any code runs as the server's user)",
            "terminal": "terminals can be opened (a shell as the server's user)",
            "write": "files can be written, uploaded and deleted",
        }
    )
    catalogue: ClassVar[Catalogue] = CATALOGUE
    #: a terminal is code execution too (the other capabilities raise their own rules)
    capability_rules: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"terminal": "jupyter.capability.code-execution"}
    )
    limits: ClassVar[WalkLimits] = WalkLimits()

    def accepts(self, pre: PreProbe) -> bool:
        if pre.http is None:
            return False
        server = pre.http.header("server") or ""
        body = pre.http.body[:4096]
        return (
            server.startswith("TornadoServer")
            and (b"Jupyter" in body or "_xsrf" in (pre.http.header("set-cookie") or ""))
        ) or b"<title>Jupyter" in body

    async def identify(self, api: HttpApi, pre: PreProbe) -> Identity | None:
        version = parse_version((await api.get("/api")).body)
        if version is None:
            return None
        return Identity('/api answered {"version": ...} (Jupyter Server REST API)', version)

    def new_facts(self) -> JupyterFacts:
        return JupyterFacts()

    async def read(self, api: HttpApi, ctx: ScanContext, facts: JupyterFacts) -> None:
        limits = WalkLimits(
            max_files=min(self.limits.max_files, ctx.config.max_sampled),
            max_entries=min(self.limits.max_entries, ctx.config.max_resources),
        )
        await read_jupyter(api, limits, facts)

    def open_report(
        self, endpoint: Endpoint, facts: JupyterFacts, ctx: ScanContext, version: str | None
    ) -> ServiceReport:
        notes = list(facts.notes)
        resources = [
            Resource(
                kind="notebook" if f.kind == "notebook" else "file",
                name=f.path,
                bytes=f.size,
                rows=f.cells,
                sampled_rows=len(f.texts),
                data_findings=classify_sample(([t] for t in f.texts), ctx.classifier),
            )
            for f in facts.files
        ]
        for kid, kname in facts.kernels:
            resources.append(Resource(kind="kernel", name=f"{kname}:{kid}", unsampled="running"))
        for term in facts.terminals or ():
            resources.append(Resource(kind="terminal", name=term, unsampled="running"))
        if facts.kernelspec_env:
            resources.append(
                Resource(
                    kind="kernelspec-env",
                    name="kernelspecs",
                    rows=len(facts.kernelspec_env),
                    sampled_rows=len(facts.kernelspec_env),
                    data_findings=classify_sample(
                        ([t] for t in facts.kernelspec_env), ctx.classifier
                    ),
                )
            )
        if facts.kernels:
            notes.append(f"{len(facts.kernels)} kernels running")
        return ServiceReport.for_endpoint(
            endpoint,
            version=version,
            auth=AuthState.NONE,
            proof=PROOF,
            resources=tuple(resources),
            capabilities=_capabilities(facts),
            coverage=Coverage(
                listed=facts.entries_listed,
                sampled=len(facts.files),
                cap=limits_cap(facts, self.limits),
            ),
            notes=tuple(notes),
        )

    def open_evidence(self, report: ServiceReport) -> str:
        files = [r for r in report.resources if r.kind in ("notebook", "file")]
        kernels = sum(1 for r in report.resources if r.kind == "kernel")
        return f"{report.proof}; {len(files)} notebooks/files sampled, {kernels} kernels running"

    def findings(self, report: ServiceReport) -> list[Finding]:
        # terminal and code-execution share one rule: keep one finding per id
        unique = list({f.id: f for f in super().findings(report)}.values())
        kernels = [r for r in report.resources if r.kind == "kernel"]
        if report.auth is AuthState.NONE and kernels:
            unique.append(
                CATALOGUE.finding(
                    "jupyter.running-kernels",
                    host=report.host,
                    port=report.port,
                    evidence=f"{len(kernels)} kernels running",
                )
            )
        return unique

    def capability_evidence(self, report: ServiceReport, capability: str) -> str:
        caps = report.capabilities
        parts = [
            f"{name}={'yes' if caps.get(name) else 'no'}" for name in ("code-execution", "terminal")
        ]
        if capability == "write":
            return "contents API: write allowed for an anonymous caller"
        return "decided from /api/me permissions and /api/kernelspecs, nothing started: " + (
            ", ".join(parts)
        )


def limits_cap(facts: JupyterFacts, limits: WalkLimits) -> int | None:
    return limits.max_entries if facts.entries_listed >= limits.max_entries else None


def _capabilities(facts: JupyterFacts) -> Capabilities:
    perms = facts.permissions
    specs = facts.kernelspecs
    if perms is None:
        # no identity API (Notebook < 7, Server 1.x): no authorizer to deny an open caller
        kernels = bool(specs) if specs is not None else None
        terminal = True if facts.terminals is not None else None
        write = facts.root_writable
    else:
        kernels = "execute" in perms.get("kernels", []) and bool(specs)
        terminal = "execute" in perms.get("terminals", []) and facts.terminals is not None
        write = "write" in perms.get("contents", [])
    return Capabilities.of(**{"code-execution": kernels, "terminal": terminal, "write": write})
