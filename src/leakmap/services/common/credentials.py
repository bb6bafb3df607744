"""Default credentials: the short, documented list ``--try-default-credentials`` tries.

Off by default. When on, a plugin whose endpoint refused anonymous access tries the entries
for its service, in order, at most :data:`MAX_ATTEMPTS` per endpoint, and stops at the first
accepted one. Every entry is a default that vendor documentation, an official image or the
product's own sample configuration ships - not a guess list: leakmap checks for a known,
published setting, it does not brute-force.

An accepted credential is reported as a critical finding that names the **user** and where
the default comes from, never the password (:attr:`DefaultCredential.label`).

Plugins call :func:`credentials_for`; each service's list is here, in one place, so the
documented limits hold for all of them::

    >>> [c.label for c in credentials_for("elasticsearch")]
    ["user 'elastic' (Elasticsearch before 6.0, X-Pack's default)", ...]
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_CREDENTIALS", "MAX_ATTEMPTS", "DefaultCredential", "credentials_for"]

#: never more attempts than this against one endpoint, whatever the lists hold
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class DefaultCredential:
    user: str
    password: str
    source: str

    @property
    def label(self) -> str:
        """What reports may show: the user and the source, never the password."""
        return f"user '{self.user}' ({self.source})"

    def __repr__(self) -> str:  # keep the password out of logs and tracebacks
        return f"DefaultCredential({self.label})"


def _c(user: str, password: str, source: str) -> DefaultCredential:
    return DefaultCredential(user, password, source)


DEFAULT_CREDENTIALS: dict[str, tuple[DefaultCredential, ...]] = {
    # redis.conf ships "# requirepass foobared" as its example; AUTH <password> is user default
    "redis": (_c("default", "foobared", "the example password in redis.conf"),),
    # X-Pack security before 6.0 created elastic/changeme; OpenSearch's demo configuration
    # (install_demo_configuration.sh, before 2.12) creates admin/admin
    "elasticsearch": (
        _c("elastic", "changeme", "Elasticsearch before 6.0, X-Pack's default"),
        _c("admin", "admin", "OpenSearch demo configuration before 2.12"),
    ),
    # LiteLLM's documentation uses this master key in every proxy example (sent as a bearer key)
    "litellm": (_c("master key", "sk-1234", "the master key in LiteLLM's documentation"),),
    # etcd, memcached and MongoDB ship no default user: nothing to try
}


def credentials_for(service: str) -> tuple[DefaultCredential, ...]:
    """The documented defaults for ``service`` (at most :data:`MAX_ATTEMPTS`)."""
    return DEFAULT_CREDENTIALS.get(service, ())[:MAX_ATTEMPTS]
