"""The memcached rule catalogue: the rules every store plugin shares
(:func:`~leakmap.services.common.stores.store_catalogue`) plus this plugin's own, with remediation
and references."""

from __future__ import annotations

from leakmap.services.common.catalogue import Catalogue, RuleMeta
from leakmap.services.common.stores import store_catalogue

__all__ = ["CATALOGUE", "RULES"]

CATALOGUE: Catalogue = store_catalogue(
    "memcached",
    "memcached",
    noun="memcached item",
    remediation="Listen on internal interfaces only (-l), firewall 11211, disable UDP "
    "(-U 0) and turn on authentication (SASL -S or ascii auth -Y). Critical when the "
    "cached values hold secrets or chat history.",
    references=(
        "https://github.com/memcached/memcached/wiki/SASLHowto",
        "https://github.com/memcached/memcached/wiki/ConfiguringServer",
    ),
)
RULES: dict[str, RuleMeta] = CATALOGUE.rules
