"""The data stores of issue 9 are built in: each under its report name, each default port in
the default port set (a plugin written and tested but left out of the registry is invisible
to every scan - the MySQL plugin was, for a while)."""

from __future__ import annotations

from leakmap.services.registry import builtin_services, default_ports, url_schemes

STORES = {
    "redis": 6379,
    "postgresql": 5432,
    "mysql": 3306,
    "memcached": 11211,
    "etcd": 2379,
    "elasticsearch": 9200,
    "mongodb": 27017,
}


def test_every_store_is_built_in_with_its_default_port() -> None:
    services = builtin_services()
    ports = default_ports(services)
    for name, port in STORES.items():
        assert name in services, name
        assert services[name].name == name
        assert name in ports[port], (name, port)


def test_sql_url_schemes_are_declared() -> None:
    schemes = url_schemes(builtin_services())
    assert schemes["mysql"][0] == 3306 and schemes["mariadb"][0] == 3306
    assert schemes["postgresql"][0] == 5432 and schemes["redis"][0] == 6379
