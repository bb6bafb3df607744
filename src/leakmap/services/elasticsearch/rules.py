"""The elasticsearch rule catalogue: the rules every store plugin shares
(:func:`~leakmap.services.common.stores.store_catalogue`) plus this plugin's own, with remediation
and references."""

from __future__ import annotations

from leakmap.services.common.catalogue import Catalogue, RuleMeta
from leakmap.services.common.stores import store_catalogue

__all__ = ["CATALOGUE", "RULES"]

CATALOGUE: Catalogue = store_catalogue(
    "elasticsearch",
    "Elasticsearch/OpenSearch",
    noun="index",
    remediation="Turn on the security layer (xpack.security.enabled / the OpenSearch "
    "Security plugin) with TLS and real passwords, bind to internal interfaces only and "
    "firewall 9200. Critical when indices hold secrets or chat history.",
    references=(
        "https://www.elastic.co/guide/en/elasticsearch/reference/current/"
        "security-minimal-setup.html",
        "https://opensearch.org/docs/latest/security/",
    ),
)
RULES: dict[str, RuleMeta] = CATALOGUE.rules
