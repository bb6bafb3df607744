"""Capabilities from settings and grants: True / False only when proven, None otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakmap.services.clickhouse.capabilities import (
    CapabilityInputs,
    Grants,
    decide,
    parse_grants,
)

REC = json.loads((Path(__file__).parent / "recorded" / "clickhouse_26_9.json").read_text())
FUNCS_18_16 = {
    "mysql",
    "file",
    "url",
    "catBoostPool",
    "numbers",
    "jdbc",
    "odbc",
    "cluster",
    "remote",
    "merge",
}
FUNCS_26_9 = set(REC["table_functions"].split())


def test_recorded_26_9_grants_parse() -> None:
    g = parse_grants(REC["grants"].splitlines())
    assert not g.has_roles
    for priv in ("INSERT", "CREATE", "FILE", "URL", "REMOTE", "S3", "SOURCES"):
        assert g.has(priv)
    assert g.has("CREATE TEMPORARY TABLE")  # covered by CREATE


@pytest.mark.parametrize(
    ("lines", "has", "has_not", "roles"),
    [
        (["GRANT ALL ON *.* TO default WITH GRANT OPTION"], ["INSERT", "FILE"], [], False),
        (["GRANT SHOW, SELECT ON *.* TO reader"], ["SELECT"], ["INSERT", "FILE", "CREATE"], False),
        (["GRANT SELECT(a, b), INSERT ON db.t TO u"], ["INSERT"], ["FILE"], False),
        (["GRANT SOURCES ON *.* TO u"], ["FILE", "URL", "S3"], ["INSERT"], False),
        (["GRANT analyst TO u", "GRANT SELECT ON db.* TO u"], ["SELECT"], ["INSERT"], True),
        (["REVOKE INSERT ON db.* FROM u"], [], ["INSERT"], False),
    ],
)
def test_parse_grants(lines: list[str], has: list[str], has_not: list[str], roles: bool) -> None:
    g = parse_grants(lines)
    assert all(g.has(p) for p in has)
    assert not any(g.has(p) for p in has_not)
    assert g.has_roles is roles


def _caps(**kw: object) -> tuple[bool | None, ...]:
    c = decide(CapabilityInputs(**kw))  # type: ignore[arg-type]
    return (c.get("file"), c.get("url"), c.get("remote"), c.get("write"), c.get("ddl"))


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        # pre-RBAC (18.16): readonly=0 -> everything; readonly=1 -> nothing; readonly=2 -> functions
        ({"readonly": 0, "allow_ddl": 1, "functions": FUNCS_18_16}, (True, True, True, True, True)),
        (
            {"readonly": 0, "allow_ddl": 0, "functions": FUNCS_18_16},
            (True, True, True, True, False),
        ),
        ({"readonly": 1, "allow_ddl": 1, "functions": FUNCS_18_16}, (False,) * 5),
        (
            {"readonly": 2, "allow_ddl": 1, "functions": FUNCS_18_16},
            (True, True, True, False, False),
        ),
        # unknown readonly: nothing is claimed either way
        ({"readonly": None, "functions": FUNCS_18_16}, (None,) * 5),
        # a function the server does not have is not usable
        (
            {"readonly": 0, "allow_ddl": 1, "functions": {"numbers"}},
            (False, False, False, True, True),
        ),
        # RBAC with the recorded 26.9 default grants
        (
            {
                "readonly": 0,
                "allow_ddl": 1,
                "functions": FUNCS_26_9,
                "rbac": True,
                "grants": parse_grants(REC["grants"].splitlines()),
            },
            (True, True, True, True, True),
        ),
        # RBAC, SELECT only, no roles: proven not usable
        (
            {
                "readonly": 0,
                "allow_ddl": 1,
                "functions": FUNCS_26_9,
                "rbac": True,
                "grants": parse_grants(["GRANT SHOW, SELECT ON *.* TO u"]),
            },
            (False, False, False, False, False),
        ),
        # RBAC, SELECT plus a role we cannot see into: unknown, never False
        (
            {
                "readonly": 0,
                "allow_ddl": 1,
                "functions": FUNCS_26_9,
                "rbac": True,
                "grants": Grants(frozenset({"SELECT"}), has_roles=True),
            },
            (None, None, None, None, None),
        ),
        # RBAC, SHOW GRANTS refused: unknown
        ({"readonly": 0, "allow_ddl": 1, "functions": FUNCS_26_9, "rbac": True}, (None,) * 5),
        # RBAC, readonly=1 profile: proven by the setting alone
        ({"readonly": 1, "functions": FUNCS_26_9, "rbac": True}, (False,) * 5),
    ],
)
def test_decide(kw: dict[str, object], expected: tuple[bool | None, ...]) -> None:
    assert _caps(**kw) == expected


def test_extra_functions_are_reported() -> None:
    c = decide(CapabilityInputs(readonly=0, allow_ddl=1, functions=FUNCS_18_16))
    assert c.get("jdbc") is True and c.get("odbc") is True and c.get("mysql") is True
    assert "s3" not in c.root  # 18.16 has no s3()
