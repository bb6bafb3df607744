"""The PostgreSQL and MySQL/MariaDB plugins against REAL servers (Debian's PostgreSQL 15 and
MariaDB 10.11): open variants found with auth ``none``, every table listed with its row
estimate, samples classified, capabilities decided; protected variants ``required`` with
nothing sampled; and the servers' own statement logs hold only reads.

Mutants tried against the read-only tests (each made them fail): a plugin that also sent
``CREATE TABLE leakmap_mutant (x int)`` past the guard (PostgreSQL logs it before refusing it
in the read-only session; MariaDB logs and runs it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from leakmap.classify import Classifier
from leakmap.net.bounded import Network
from leakmap.services.base import (
    AuthState,
    DataCategory,
    Endpoint,
    OpenPort,
    ScanConfig,
    ScanContext,
    ServiceResult,
)
from leakmap.services.mysql.plugin import MySQL
from leakmap.services.postgresql.plugin import PostgreSQL

from .servers import MariaDbServer, PgServer, assert_only_reads

ALL_FOUR = {DataCategory.SECRET, DataCategory.PII, DataCategory.CHAT, DataCategory.INFRASTRUCTURE}


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


def scan(
    plugin: PostgreSQL | MySQL, ip: str, port: int, classifier: Classifier, **cfg: float
) -> tuple[Endpoint | None, ServiceResult | None]:
    """Fingerprint and assess one port (other tests' sessions share the servers: the
    read-only checks read only the statements logged during a scan, see :func:`logged`)."""
    config = ScanConfig(**cfg)  # type: ignore[arg-type]
    ctx = ScanContext(config, Network(), classifier)

    async def go() -> tuple[Endpoint | None, ServiceResult | None]:
        endpoint = await plugin.fingerprint(OpenPort(ip, ip, port), ctx)
        if endpoint is None:
            return None, None
        return endpoint, await plugin.assess(endpoint, ctx)

    return asyncio.run(go())


def dump(result: ServiceResult) -> str:
    return result.report.model_dump_json() + "".join(f.model_dump_json() for f in result.findings)


def raw_values(server: PgServer | MariaDbServer) -> list[str]:
    assert server.dataset is not None
    d = server.dataset
    return [s.value for s in d.secrets] + list(d.emails) + list(d.cards)


def logged(
    server: PgServer | MariaDbServer,
    run: Callable[[], tuple[Endpoint | None, ServiceResult | None]],
) -> tuple[Endpoint | None, ServiceResult | None, list[str]]:
    """``run()`` and the statements the server logged for scanner sessions meanwhile."""
    before = len(server.scanner_statements())
    endpoint, result = run()
    return endpoint, result, server.scanner_statements()[before:]


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def pg_scan(
    pg_open: PgServer, classifier: Classifier
) -> tuple[Endpoint | None, ServiceResult | None, list[str]]:
    return logged(pg_open, lambda: scan(PostgreSQL(), pg_open.ip, pg_open.port, classifier))


def test_postgres_open_is_proven_and_enumerated(
    pg_scan: tuple[Endpoint | None, ServiceResult | None, list[str]],
) -> None:
    endpoint, result, _ = pg_scan
    assert endpoint is not None and endpoint.version and endpoint.version.startswith("15.")
    assert result is not None
    report = result.report
    assert report.auth == AuthState.NONE and report.proof and "postgres" in report.proof
    by_name = {r.name: r for r in report.resources}
    log, views = by_name["chatbot.public.log_stream"], by_name["analytics.public.page_views"]
    assert log.rows == 300 and views.rows == 300 and log.bytes and log.bytes > 0
    assert {c.name for c in log.columns} >= {"message", "request", "response", "metadata"}
    assert log.sampled_rows == 200 and {df.category for df in log.data_findings} == ALL_FOUR
    assert views.sampled_rows == 200 and views.data_findings == ()
    caps = report.capabilities
    assert caps.get("superuser") is True and caps.get("code-execution") is True
    assert caps.get("file") is True and caps.get("write") is True
    rules = {f.rule for f in result.findings}
    assert {
        "postgresql.open-access",
        "postgresql.capability.superuser",
        "postgresql.capability.code-execution",
        "postgresql.data.secret",
        "postgresql.data.chat",
    } <= rules
    assert report.coverage is not None and report.coverage.listed == len(report.resources)


def test_postgres_open_leaks_no_raw_value(
    pg_open: PgServer, pg_scan: tuple[Endpoint | None, ServiceResult | None, list[str]]
) -> None:
    _, result, _ = pg_scan
    assert result is not None
    text = dump(result)
    for value in raw_values(pg_open):
        assert value not in text


def test_postgres_server_log_holds_only_reads(
    pg_open: PgServer, pg_scan: tuple[Endpoint | None, ServiceResult | None, list[str]]
) -> None:
    assert pg_scan[1] is not None
    assert_only_reads(pg_scan[2])


def test_postgres_protected_is_required_and_nothing_read(
    pg_protected: PgServer, classifier: Classifier
) -> None:
    endpoint, result, statements = logged(
        pg_protected, lambda: scan(PostgreSQL(), pg_protected.ip, pg_protected.port, classifier)
    )
    assert endpoint is not None and "sasl" in endpoint.evidence
    assert result is not None and result.report.auth == AuthState.REQUIRED
    assert result.report.resources == () and statements == []
    assert not any(
        f.rule.startswith(("postgresql.data", "postgresql.open")) for f in result.findings
    )
    assert pg_protected.password is not None and pg_protected.password not in dump(result)


def test_postgres_least_privilege_role_is_open_but_holds_no_dangerous_capability(
    pg_app_only: PgServer, classifier: Classifier
) -> None:
    _, result, statements = logged(
        pg_app_only, lambda: scan(PostgreSQL(), pg_app_only.ip, pg_app_only.port, classifier)
    )
    assert result is not None and result.report.auth == AuthState.NONE
    report = result.report
    assert report.proof and "'app'" in report.proof
    assert any("password required for: postgres" in n for n in report.notes)
    caps = report.capabilities
    for name in ("superuser", "file", "file-write", "code-execution", "write", "ddl"):
        assert caps.get(name) is False, (name, caps)
    by_name = {r.name: r for r in report.resources}
    assert by_name["chatbot.public.log_stream"].data_findings
    assert by_name["analytics.public.page_views"].sampled_rows is None  # SELECT not granted
    assert not any(f.rule.startswith("postgresql.capability") for f in result.findings)
    assert_only_reads(statements)


# --------------------------------------------------------------------------- MariaDB


@pytest.fixture(scope="module")
def maria_scan(
    mariadb_open: MariaDbServer, classifier: Classifier
) -> tuple[Endpoint | None, ServiceResult | None, list[str]]:
    return logged(
        mariadb_open, lambda: scan(MySQL(), mariadb_open.ip, mariadb_open.port, classifier)
    )


def test_mariadb_open_is_proven_and_enumerated(
    maria_scan: tuple[Endpoint | None, ServiceResult | None, list[str]],
) -> None:
    endpoint, result, _ = maria_scan
    assert endpoint is not None and endpoint.version and "MariaDB" in endpoint.version
    assert result is not None
    report = result.report
    assert report.auth == AuthState.NONE and report.proof and "'root'" in report.proof
    by_name = {r.name: r for r in report.resources}
    log, views = by_name["chatbot.log_stream"], by_name["analytics.page_views"]
    assert log.rows and views.rows  # InnoDB estimates, refreshed by ANALYZE TABLE
    assert log.sampled_rows == 200 and {df.category for df in log.data_findings} == ALL_FOUR
    assert views.sampled_rows == 200 and views.data_findings == ()
    caps = report.capabilities
    for name in ("file", "super", "write", "ddl", "grant"):
        assert caps.get(name) is True, name
    rules = {f.rule for f in result.findings}
    assert {
        "mysql.open-access",
        "mysql.capability.file",
        "mysql.capability.admin",
        "mysql.data.secret",
        "mysql.data.chat",
    } <= rules


def test_mariadb_open_leaks_no_raw_value(
    mariadb_open: MariaDbServer, maria_scan: tuple[Endpoint | None, ServiceResult | None, list[str]]
) -> None:
    _, result, _ = maria_scan
    assert result is not None
    text = dump(result)
    for value in raw_values(mariadb_open):
        assert value not in text


def test_mariadb_general_log_holds_only_reads(
    mariadb_open: MariaDbServer, maria_scan: tuple[Endpoint | None, ServiceResult | None, list[str]]
) -> None:
    assert maria_scan[1] is not None
    assert_only_reads(maria_scan[2])


def test_mariadb_protected_is_required_and_nothing_read(
    mariadb_protected: MariaDbServer, classifier: Classifier
) -> None:
    endpoint, result, statements = logged(
        mariadb_protected,
        lambda: scan(MySQL(), mariadb_protected.ip, mariadb_protected.port, classifier),
    )
    assert endpoint is not None and "HandshakeV10" in endpoint.evidence
    assert result is not None and result.report.auth == AuthState.REQUIRED
    assert result.report.resources == () and statements == []
    assert not any(f.rule.startswith(("mysql.data", "mysql.open")) for f in result.findings)
    assert mariadb_protected.password is not None
    assert mariadb_protected.password not in dump(result)


def test_plugins_do_not_claim_each_other(
    pg_open: PgServer, mariadb_open: MariaDbServer, classifier: Classifier
) -> None:
    crossed: list[Callable[[], tuple[Endpoint | None, ServiceResult | None]]] = [
        lambda: scan(MySQL(), pg_open.ip, pg_open.port, classifier, read_timeout=1.0),
        lambda: scan(
            PostgreSQL(), mariadb_open.ip, mariadb_open.port, classifier, read_timeout=1.0
        ),
    ]
    for attempt in crossed:
        endpoint, _ = attempt()
        assert endpoint is None
