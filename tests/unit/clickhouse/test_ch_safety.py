"""The SQL guard lets only single read statements through; quoting keeps hostile names names."""

from __future__ import annotations

import pytest

from leakmap.services.clickhouse.safety import (
    UnsafeStatement,
    guard_sql,
    quote_ident,
    quote_string,
)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1", "SELECT 1"),
        ("  select version()  ", "select version()"),
        ("-- probe\nSELECT 1", "SELECT 1"),
        ("/* a */ SHOW TABLES", "SHOW TABLES"),
        ("DESCRIBE TABLE t", "DESCRIBE TABLE t"),
        ("DESC t", "DESC t"),
        ("EXISTS TABLE t", "EXISTS TABLE t"),
        ("SELECT 1;", "SELECT 1"),
        ("SELECT 1 ;  -- trailing comment", "SELECT 1"),
        ("SELECT ';DROP TABLE t' FROM t", "SELECT ';DROP TABLE t' FROM t"),
        ("SELECT * FROM `a;b`.`c`", "SELECT * FROM `a;b`.`c`"),
        ("SELECT 'it\\'s; fine'", "SELECT 'it\\'s; fine'"),
        ("SELECT '--not a comment'", "SELECT '--not a comment'"),
        ("SELECT 1 FORMAT TabSeparated", "SELECT 1 FORMAT TabSeparated"),
    ],
)
def test_read_statements_pass(sql: str, expected: str) -> None:
    assert guard_sql(sql) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t VALUES (1)",
        "insert into t select 1",
        "DROP TABLE t",
        "ALTER TABLE t DELETE WHERE 1",
        "CREATE TABLE t (x UInt8) ENGINE = Memory",
        "TRUNCATE TABLE t",
        "SET readonly = 0",
        "SYSTEM SHUTDOWN",
        "KILL QUERY WHERE 1",
        "OPTIMIZE TABLE t FINAL",
        "RENAME TABLE a TO b",
        "ATTACH TABLE t",
        "DETACH TABLE t",
        "GRANT ALL ON *.* TO x",
        "USE db",
        "SELECT 1; DROP TABLE t",
        "SELECT 1;DROP TABLE t",
        "SELECT 1; -- x\n INSERT INTO t VALUES (1)",
        "/* SELECT */ DROP TABLE t",
        "-- SELECT\nDROP TABLE t",
        "SELECT 1 /* unterminated",
        "SELECT 'unterminated",
        "SELECT * FROM `unterminated",
        "",
        "   ",
        "-- only a comment",
        "(SELECT 1)",
        "WITH x AS (1) INSERT INTO t SELECT 1",
        "WITH 1 AS x",
        "WITH 1 AS x SELECT x",
        "SELECT 1 INTO OUTFILE '/tmp/x'",
        "SELECT 1 # ; DROP TABLE t",
        "SELECT\x00 1",
        "EXPLAIN SELECT 1",
    ],
)
def test_everything_else_is_refused(sql: str) -> None:
    with pytest.raises(UnsafeStatement):
        guard_sql(sql)


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("log_stream", "`log_stream`"),
        ("we`ird", "`we\\`ird`"),
        ("a\\b", "`a\\\\b`"),
        ("x` ; DROP TABLE y; --", "`x\\` ; DROP TABLE y; --`"),
        ("line\nbreak", "`line\\nbreak`"),
        ("tab\there", "`tab\\there`"),
        ("nul\x00", "`nul\\0`"),
        ("", "``"),
    ],
)
def test_quote_ident(name: str, quoted: str) -> None:
    assert quote_ident(name) == quoted


@pytest.mark.parametrize(
    "name", ["x` ; DROP TABLE y; --", "a`;`b", "`", "\\`; SELECT 1", "a\nINSERT INTO t"]
)
def test_hostile_names_stay_one_read_statement(name: str) -> None:
    sql = f"SELECT * FROM {quote_ident(name)}.{quote_ident(name)} LIMIT 5"
    assert guard_sql(sql) == sql


@pytest.mark.parametrize(
    ("value", "quoted"),
    [("system", "'system'"), ("it's", "'it\\'s'"), ("a\\", "'a\\\\'"), ("x\ny", "'x\\ny'")],
)
def test_quote_string(value: str, quoted: str) -> None:
    assert quote_string(value) == quoted
    assert guard_sql(f"SELECT {quoted}") == f"SELECT {quoted}"
