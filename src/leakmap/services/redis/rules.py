"""The redis rule catalogue: the rules every store plugin shares
(:func:`~leakmap.services.common.stores.store_catalogue`) plus this plugin's own, with remediation
and references."""

from __future__ import annotations

from leakmap.findings import Severity
from leakmap.services.common.catalogue import Catalogue, RuleMeta
from leakmap.services.common.stores import store_catalogue

__all__ = ["CATALOGUE", "RULES"]

_DOCS = "https://redis.io/docs/latest/operate/oss_and_stack/management/security/"
_ACL = "https://redis.io/docs/latest/operate/oss_and_stack/management/security/acl/"

CATALOGUE: Catalogue = store_catalogue(
    "redis",
    "Redis",
    noun="Redis key",
    remediation="Set a password (requirepass, or ACL users with 'default' disabled), keep "
    "protected-mode on, bind to internal interfaces only and firewall 6379. Critical when "
    "the keys hold secrets or chat history.",
    references=(_DOCS, _ACL),
    capabilities={
        "config-write": (
            Severity.CRITICAL,
            "CONFIG permitted: the server's files and settings can be rewritten",
            "Deny CONFIG in the user's ACL (-@admin -@dangerous) or rename-command it "
            "away; attackers use CONFIG SET dir/dbfilename to write files.",
        ),
        "module-load": (
            Severity.CRITICAL,
            "MODULE LOAD permitted: native code can be loaded",
            "Deny MODULE in the ACL and keep enable-module-command no (Redis 7).",
        ),
        "replicaof": (
            Severity.HIGH,
            "REPLICAOF/SLAVEOF permitted: the server can be made to replicate from a rogue master",
            "Deny REPLICAOF and SLAVEOF in the user's ACL (-@admin).",
        ),
        "lua-scripting": (
            Severity.HIGH,
            "EVAL/SCRIPT permitted: Lua scripts run on the server",
            "Deny -@scripting for untrusted users; keep Redis patched (Lua sandbox "
            "escapes such as CVE-2022-0543).",
        ),
        "debug": (
            Severity.HIGH,
            "DEBUG permitted",
            "Deny DEBUG in the ACL and keep enable-debug-command no (Redis 7).",
        ),
        "write": (
            Severity.HIGH,
            "Writes permitted: keys can be changed or deleted by anyone who connects",
            "Require authentication; give read-only users -@write.",
        ),
    },
)
RULES: dict[str, RuleMeta] = CATALOGUE.rules
