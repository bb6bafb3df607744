"""The mongodb rule catalogue: the rules every store plugin shares
(:func:`~leakmap.services.common.stores.store_catalogue`) plus this plugin's own, with remediation
and references."""

from __future__ import annotations

from leakmap.services.common.catalogue import Catalogue, RuleMeta
from leakmap.services.common.stores import store_catalogue

__all__ = ["CATALOGUE", "RULES"]

CATALOGUE: Catalogue = store_catalogue(
    "mongodb",
    "MongoDB",
    noun="collection",
    remediation="Enable access control (security.authorization: enabled) with SCRAM "
    "users, bind to internal interfaces only (net.bindIp) and firewall 27017. Critical "
    "when collections hold secrets or chat history.",
    references=(
        "https://www.mongodb.com/docs/manual/tutorial/enable-authentication/",
        "https://www.mongodb.com/docs/manual/administration/security-checklist/",
    ),
)
RULES: dict[str, RuleMeta] = CATALOGUE.rules
