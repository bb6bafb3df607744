"""The etcd rule catalogue: the rules every store plugin shares
(:func:`~leakmap.services.common.stores.store_catalogue`) plus this plugin's own, with remediation
and references."""

from __future__ import annotations

from leakmap.services.common.catalogue import Catalogue, RuleMeta
from leakmap.services.common.stores import store_catalogue

__all__ = ["CATALOGUE", "RULES"]

CATALOGUE: Catalogue = store_catalogue(
    "etcd",
    "etcd",
    noun="etcd key",
    remediation="Enable client certificate authentication (--client-cert-auth) or etcd "
    "auth (a root user, then /v3/auth/enable), listen on internal interfaces only and "
    "firewall 2379. An open Kubernetes etcd hands out the whole cluster: treat every "
    "secret in it as compromised.",
    references=(
        "https://etcd.io/docs/v3.5/op-guide/authentication/",
        "https://etcd.io/docs/v3.5/op-guide/security/",
        "https://kubernetes.io/docs/tasks/administer-cluster/configure-upgrade-etcd/",
    ),
)
RULES: dict[str, RuleMeta] = CATALOGUE.rules
