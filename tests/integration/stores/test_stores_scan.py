"""One ``leakmap scan`` over every store at once: the real Redis (open, password, hardened
ACL), PostgreSQL 15 and MariaDB (open, password), memcached (open, ascii auth) and etcd (open
Kubernetes etcd, auth enabled) servers, and the recorded Elasticsearch and MongoDB exchanges
served on loopback (recorded_servers.py).

The scan runs once (module scope) as a subprocess with ``--format json``; every test reads
that one report. Around it, each server's own record proves the scan read only: Redis
``INFO commandstats`` (every command of every outcome: ran, rejected, failed), PostgreSQL's
``log_statement=all`` log and MariaDB's general log (the scanner's sessions), memcached's
write counters, etcd's revision. A mutant scanner that also sends one write (``DEL`` of a key
that does not exist - it changes nothing, yet it is a write command) fails the Redis check;
the SQL logs' mutants are in tests/integration/sql/test_sql_readonly_proof.py.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from leakmap.lab.addresses import random_loopback
from leakmap.report.catalogue import scan_catalogue
from leakmap.report.json import load_schema

from ..sql.servers import MariaDbServer, PgServer, assert_only_reads
from .readonly import memcached_writes, redis_reads, redis_writes
from .recorded_servers import RecordedEsServer, RecordedMongoServer
from .servers import EtcdServer, MemcachedServer, RedisServer, make_planted

FAST = ["--timeout", "2", "--read-timeout", "3", "--endpoint-timeout", "60", "--no-progress"]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.stdout)
        return doc


def leakmap(*args: str, prelude: str = "") -> Run:
    """``leakmap ARGS`` in a subprocess; ``prelude`` is Python run first (for mutants)."""
    code = f"{prelude}\nimport sys\nfrom leakmap.cli import main\nsys.exit(main())"
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Stores:
    redis_open: RedisServer
    redis_password: RedisServer
    redis_acl: RedisServer
    memcached_open: MemcachedServer
    memcached_auth: MemcachedServer
    etcd_open: EtcdServer
    etcd_auth: EtcdServer
    es_recorded: RecordedEsServer
    mongo_recorded: RecordedMongoServer
    pg_open: PgServer
    pg_protected: PgServer
    mariadb_open: MariaDbServer
    mariadb_protected: MariaDbServer

    def sql(self) -> dict[str, PgServer | MariaDbServer]:
        return {
            "pg_open": self.pg_open,
            "pg_protected": self.pg_protected,
            "mariadb_open": self.mariadb_open,
            "mariadb_protected": self.mariadb_protected,
        }

    def targets(self) -> list[str]:
        return [
            f"{self.redis_open.ip}:6379",
            f"{self.redis_password.ip}:6379",
            f"{self.redis_acl.ip}:6379",
            f"{self.pg_open.ip}:{self.pg_open.port}",
            f"{self.pg_protected.ip}:{self.pg_protected.port}",
            f"{self.mariadb_open.ip}:{self.mariadb_open.port}",
            f"{self.mariadb_protected.ip}:{self.mariadb_protected.port}",
            f"{self.memcached_open.ip}:11211",
            f"{self.memcached_auth.ip}:11211",
            f"{self.etcd_open.ip}:2379",
            f"{self.etcd_auth.ip}:2379",
            f"{self.es_recorded.ip}:9200",
            f"{self.mongo_recorded.ip}:27017",
        ]

    def planted(self) -> list[str]:
        servers = (
            self.redis_open,
            self.redis_password,
            self.redis_acl,
            self.memcached_open,
            self.memcached_auth,
            self.etcd_open,
            self.etcd_auth,
        )
        planted = [s.planted.raw_values for s in servers if s.planted is not None]
        planted += [self.es_recorded.planted.raw_values, self.mongo_recorded.planted.raw_values]
        for sql in self.sql().values():
            assert sql.dataset is not None
            d = sql.dataset
            planted.append((*[x.value for x in d.secrets], *d.emails, *d.cards))
        return [v for values in planted for v in values]


@dataclass
class Scan:
    run: Run
    report: dict[str, Any]
    redis_before: dict[str, dict[str, dict[str, int]]]
    redis_after: dict[str, dict[str, dict[str, int]]]
    mc_before: dict[str, dict[str, int]]
    mc_after: dict[str, dict[str, int]]
    etcd_before: dict[str, int]
    etcd_after: dict[str, int]
    #: what each SQL server logged for the scanner's sessions during the scan
    sql_statements: dict[str, list[str]]

    def service(self, ip: str, port: int) -> dict[str, Any]:
        found: list[dict[str, Any]] = [
            s for s in self.report["services"] if s["ip"] == ip and s["port"] == port
        ]
        assert len(found) == 1
        return found[0]

    def findings(self, ip: str) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for f in self.report["findings"]:
            if f["host"] == ip:
                out.setdefault(f["rule"], []).append(f)
        return out


@pytest.fixture(scope="module")
def stores(
    redis_open: RedisServer,
    redis_password: RedisServer,
    redis_acl: RedisServer,
    memcached_open: MemcachedServer,
    memcached_auth: MemcachedServer,
    etcd_open: EtcdServer,
    etcd_auth: EtcdServer,
    es_recorded: RecordedEsServer,
    mongo_recorded: RecordedMongoServer,
    pg_open: PgServer,
    pg_protected: PgServer,
    mariadb_open: MariaDbServer,
    mariadb_protected: MariaDbServer,
) -> Stores:
    return Stores(
        redis_open,
        redis_password,
        redis_acl,
        memcached_open,
        memcached_auth,
        etcd_open,
        etcd_auth,
        es_recorded,
        mongo_recorded,
        pg_open,
        pg_protected,
        mariadb_open,
        mariadb_protected,
    )


@pytest.fixture(scope="module")
def scan(stores: Stores) -> Scan:
    redis = {"open": stores.redis_open, "password": stores.redis_password, "acl": stores.redis_acl}
    mcs = {"open": stores.memcached_open, "auth": stores.memcached_auth}
    etcds = {"open": stores.etcd_open, "auth": stores.etcd_auth}
    redis_before = {k: s.commandstats() for k, s in redis.items()}
    mc_before = {k: s.stats() for k, s in mcs.items()}
    etcd_before = {k: s.revision() for k, s in etcds.items()}
    sql_before = {k: len(s.scanner_statements()) for k, s in stores.sql().items()}
    run = leakmap("scan", *stores.targets(), "--format", "json", *FAST)
    assert run.code == 0, run.stderr[-2000:]
    return Scan(
        run,
        run.json(),
        redis_before,
        {k: s.commandstats() for k, s in redis.items()},
        mc_before,
        {k: s.stats() for k, s in mcs.items()},
        etcd_before,
        {k: s.revision() for k, s in etcds.items()},
        {k: s.scanner_statements()[sql_before[k] :] for k, s in stores.sql().items()},
    )


def test_one_report_covers_every_store(stores: Stores, scan: Scan) -> None:
    jsonschema.Draft202012Validator(load_schema()).validate(scan.report)
    got = {(s["ip"], s["port"]): s["service"] for s in scan.report["services"]}
    assert got == {
        (stores.redis_open.ip, 6379): "redis",
        (stores.redis_password.ip, 6379): "redis",
        (stores.redis_acl.ip, 6379): "redis",
        (stores.pg_open.ip, 5432): "postgresql",
        (stores.pg_protected.ip, 5432): "postgresql",
        (stores.mariadb_open.ip, 3306): "mysql",
        (stores.mariadb_protected.ip, 3306): "mysql",
        (stores.memcached_open.ip, 11211): "memcached",
        (stores.memcached_auth.ip, 11211): "memcached",
        (stores.etcd_open.ip, 2379): "etcd",
        (stores.etcd_auth.ip, 2379): "etcd",
        (stores.es_recorded.ip, 9200): "elasticsearch",
        (stores.mongo_recorded.ip, 27017): "mongodb",
    }


def _categories(service: dict[str, Any]) -> set[str]:
    return {d["category"] for r in service["resources"] for d in r["data_findings"]}


def test_open_redis_is_listed_sampled_and_its_capabilities_stated(
    stores: Stores, scan: Scan
) -> None:
    svc = scan.service(stores.redis_open.ip, 6379)
    assert svc["auth"] == "none" and svc["version"].startswith("7.")
    names = {(r["kind"], r.get("database"), r["name"]) for r in svc["resources"]}
    assert {
        ("keyspace", None, "db0"),
        ("keyspace", None, "db3"),
        ("key-prefix", "db0", "session:*"),
        ("key-prefix", "db0", "chat:*"),
    } <= names
    assert svc["proof"] and "nonce" in svc["proof"]
    assert {"secret", "pii", "chat"} <= _categories(svc)
    caps = svc["capabilities"]
    assert caps["config-write"] is True and caps["replicaof"] is True and caps["write"] is True
    rules = scan.findings(stores.redis_open.ip)
    assert rules["redis.open-access"][0]["severity"] == "critical"
    assert "redis.capability.config-write" in rules and "redis.data.secret" in rules


def test_protected_redis_is_required_and_nothing_sampled(stores: Stores, scan: Scan) -> None:
    svc = scan.service(stores.redis_password.ip, 6379)
    assert svc["auth"] == "required" and svc["resources"] == []
    rules = scan.findings(stores.redis_password.ip)
    assert not any(r.startswith("redis.data.") for r in rules)
    assert "redis.open-access" not in rules


def test_hardened_acl_redis_denies_the_dangerous_commands(stores: Stores, scan: Scan) -> None:
    svc = scan.service(stores.redis_acl.ip, 6379)
    assert svc["auth"] == "none"
    caps = svc["capabilities"]
    for name in ("config-write", "module-load", "replicaof", "lua-scripting", "debug"):
        assert caps[name] is False, name
    assert caps["write"] is True
    rules = scan.findings(stores.redis_acl.ip)
    assert not any(
        r.startswith("redis.capability.") and r != "redis.capability.write" for r in rules
    )


def test_postgresql_open_and_protected(stores: Stores, scan: Scan) -> None:
    svc = scan.service(stores.pg_open.ip, 5432)
    assert svc["auth"] == "none" and svc["version"].startswith("15.") and svc["proof"]
    assert {"chatbot.public.log_stream", "analytics.public.page_views"} <= {
        r["name"] for r in svc["resources"]
    }
    assert {"secret", "pii", "chat"} <= _categories(svc)
    caps = svc["capabilities"]
    assert caps["superuser"] is True and caps["code-execution"] is True
    rules = scan.findings(stores.pg_open.ip)
    assert {"postgresql.open-access", "postgresql.data.secret"} <= set(rules)
    protected = scan.service(stores.pg_protected.ip, 5432)
    assert protected["auth"] == "required" and protected["resources"] == []
    assert not any(r.startswith("postgresql.data.") for r in scan.findings(stores.pg_protected.ip))


def test_mariadb_open_and_protected(stores: Stores, scan: Scan) -> None:
    svc = scan.service(stores.mariadb_open.ip, 3306)
    assert svc["service"] == "mysql" and svc["auth"] == "none" and "MariaDB" in svc["version"]
    assert {"chatbot.log_stream", "analytics.page_views"} <= {r["name"] for r in svc["resources"]}
    assert {"secret", "pii", "chat"} <= _categories(svc)
    caps = svc["capabilities"]
    assert caps["file"] is True and caps["write"] is True and caps["grant"] is True
    rules = scan.findings(stores.mariadb_open.ip)
    assert {"mysql.open-access", "mysql.capability.file", "mysql.data.secret"} <= set(rules)
    protected = scan.service(stores.mariadb_protected.ip, 3306)
    assert protected["auth"] == "required" and protected["resources"] == []
    assert not any(r.startswith("mysql.data.") for r in scan.findings(stores.mariadb_protected.ip))


def test_memcached_open_and_auth(stores: Stores, scan: Scan) -> None:
    svc = scan.service(stores.memcached_open.ip, 11211)
    assert svc["auth"] == "none" and svc["version"] == "1.6.18"
    assert {"secret", "pii"} <= _categories(svc)
    assert "memcached.open-access" in scan.findings(stores.memcached_open.ip)
    protected = scan.service(stores.memcached_auth.ip, 11211)
    assert protected["auth"] == "required" and protected["resources"] == []


def test_etcd_open_kubernetes_is_critical_and_auth_is_required(stores: Stores, scan: Scan) -> None:
    svc = scan.service(stores.etcd_open.ip, 2379)
    assert svc["auth"] == "none" and svc["version"].startswith("3.4")
    assert ("key-prefix", "/registry/secrets") in {(r["kind"], r["name"]) for r in svc["resources"]}
    assert "secret" in _categories(svc)
    (open_access,) = scan.findings(stores.etcd_open.ip)["etcd.open-access"]
    assert open_access["severity"] == "critical" and "Kubernetes" in open_access["evidence"]
    protected = scan.service(stores.etcd_auth.ip, 2379)
    assert protected["auth"] == "required" and protected["resources"] == []


def test_recorded_elasticsearch_and_mongodb_in_the_same_report(stores: Stores, scan: Scan) -> None:
    es = scan.service(stores.es_recorded.ip, 9200)
    assert es["auth"] == "none" and es["version"] == "elasticsearch 8.11.1"
    assert {"secret", "pii"} <= _categories(es)
    assert all(line.startswith("GET ") for line in stores.es_recorded.log)
    mongo = scan.service(stores.mongo_recorded.ip, 27017)
    assert mongo["auth"] == "none" and mongo["version"] == "6.0.12"
    assert ("chatapp", "chatapp.messages") in {
        (r["database"], r["name"]) for r in mongo["resources"]
    }
    assert {"secret", "chat"} <= _categories(mongo)
    assert "mongodb.open-access" in scan.findings(stores.mongo_recorded.ip)


def test_the_servers_own_records_show_only_reads(scan: Scan) -> None:
    for name in scan.redis_before:
        assert redis_writes(scan.redis_before[name], scan.redis_after[name]) == {}, name
    reads = redis_reads(scan.redis_before["open"], scan.redis_after["open"])
    assert reads.get("scan", 0) > 0 and reads.get("getrange", 0) > 0  # it did read
    assert reads.get("acl|dryrun", 0) > 0
    for name in scan.mc_before:
        assert memcached_writes(scan.mc_before[name], scan.mc_after[name]) == {}, name
    assert scan.mc_after["open"]["get_hits"] > scan.mc_before["open"]["get_hits"]
    assert scan.etcd_after == scan.etcd_before
    for name in ("pg_open", "mariadb_open"):  # the open servers' logs: reads, and some
        assert_only_reads(scan.sql_statements[name])
    for name in ("pg_protected", "mariadb_protected"):  # no login: nothing ran at all
        assert scan.sql_statements[name] == [], name


# A scanner that also sends one write: DEL of a key that does not exist (changes nothing)
MUTANT_DEL = """
from leakmap.services.redis import probe, resp
resp.READ_COMMANDS = resp.READ_COMMANDS | {"DEL"}
_gather = probe.gather
async def gather(client, facts, **kw):
    await client.call("DEL", "leakmap-mutant-no-such-key")
    return await _gather(client, facts, **kw)
probe.gather = gather
import leakmap.services.redis.plugin as plugin
plugin.gather = gather
"""


def test_the_readonly_check_catches_a_mutant_that_writes(stores: Stores, scan: Scan) -> None:
    server = stores.redis_open
    before = server.commandstats()
    run = leakmap("scan", f"{server.ip}:6379", "--format", "json", *FAST, prelude=MUTANT_DEL)
    assert run.code == 0, run.stderr[-2000:]
    assert redis_writes(before, server.commandstats()) == {"del": 1}


def test_no_raw_secret_in_any_output(stores: Stores, scan: Scan, tmp_path: Path) -> None:
    raw = stores.planted()
    assert len(raw) >= 30
    catalogue = scan_catalogue()
    assert {"redis.open-access", "etcd.data.secret", "mongodb.open-access"} <= set(catalogue)
    runs = {"json": scan.run}
    for fmt in ("table", "jsonl"):
        runs[fmt] = leakmap("scan", *stores.targets(), "--format", fmt, *FAST)
    result = tmp_path / "scan.json"
    result.write_text(scan.run.stdout)
    for fmt in ("sarif", "md", "html"):  # the other writers, from the same result
        runs[fmt] = leakmap("report", str(result), "--format", fmt)
        assert runs[fmt].code == 0, runs[fmt].stderr[-2000:]
    outputs = {name: run.stdout for name, run in runs.items()}
    outputs["stderr"] = "".join(run.stderr for run in runs.values())
    for name in ("table", "jsonl", "sarif", "md", "html"):
        assert "redis.data.secret" in outputs[name] or "session:*" in outputs[name], name
    for name, text in outputs.items():
        leaked = [v[:4] + "…" for v in raw if v in text]
        # long pieces too: any 16 characters of a planted value
        pieces = [v[:4] + "…" for v in raw for i in range(len(v) - 15) if v[i : i + 16] in text]
        assert leaked == [] and pieces == [], f"raw values in the {name} output: {leaked or pieces}"


def test_try_default_credentials_on_a_redis_with_the_example_password(lab_seed: int) -> None:
    server = RedisServer(random_loopback((6379,)), password="foobared").start()
    try:
        server.seed(make_planted(lab_seed + 103), filler=5)
        target = f"{server.ip}:6379"
        plain = leakmap("scan", target, "--format", "json", *FAST).json()
        assert plain["services"][0]["auth"] == "required"
        assert plain["services"][0]["resources"] == [] and plain["findings"] == []
        run = leakmap("scan", target, "--format", "json", "--try-default-credentials", *FAST)
        report = run.json()
        (finding,) = [f for f in report["findings"] if f["rule"] == "redis.default-credential"]
        assert finding["severity"] == "critical" and "user 'default'" in finding["evidence"]
        assert report["services"][0]["resources"] != []  # read with the accepted credential
        assert "foobared" not in run.stdout + run.stderr
    finally:
        server.stop()


def test_redis_on_a_port_of_its_own_is_found_quickly(lab_seed: int) -> None:
    """Redis 7 hangs up on the pre-probe's ``GET /`` (it takes ``Host:`` for a cross-protocol
    attack): the hang-up lets the Redis plugin try before the TLS step, so a Redis on a port
    nobody claims is found, and without the TLS handshake's timeout (the connect timeout,
    10 s here: the old path could not end before it)."""
    rng = random.Random(lab_seed + 104)
    port = rng.randrange(20000, 60000)
    server = RedisServer(random_loopback((port,)), port=port).start()
    try:
        server.seed(make_planted(lab_seed + 104), filler=5)
        (info,) = server.admin(("INFO", "server"))
        assert isinstance(info, bytes) and b"redis_version:7." in info  # the version that hangs up
        options = ["--timeout", "10", "--read-timeout", "3", "--no-progress", "--no-history"]
        start = time.monotonic()
        run = leakmap("scan", server.ip, "--ports", str(port), "--format", "json", *options)
        elapsed = time.monotonic() - start
        assert run.code == 0, run.stderr[-2000:]
        (svc,) = run.json()["services"]
        assert (svc["service"], svc["port"], svc["auth"]) == ("redis", port, "none")
        assert any(r["kind"] == "keyspace" for r in svc["resources"])
        assert elapsed < 10, elapsed
    finally:
        server.stop()
