"""``leakmap audit``: the offline configuration auditor (no network).

Parsers (one module per file type, :mod:`leakmap.audit.parsers`) turn ClickHouse server
configs, docker-compose files, Kubernetes manifests, Helm values, ``.env`` files and
Terraform into documents with a line for every value; checks
(:mod:`leakmap.audit.checks`) raise the rules of the catalogue (``rules.yaml``); the
engine (:mod:`leakmap.audit.engine`) walks the paths and contains crashing checks
(``unknown``, never a pass); :mod:`leakmap.audit.report` writes ``leakmap.audit/1``.
"""

__all__: list[str] = []
