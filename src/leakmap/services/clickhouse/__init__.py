"""ClickHouse service plugin: :class:`leakmap.services.clickhouse.plugin.ClickHouse`.

Modules: ``plugin`` (the Service), ``fingerprint`` (positive evidence per transport),
``native`` (Hello/Exception codec), ``http`` (guarded, limited queries), ``inventory``
(tables, row counts, bounded samples), ``capabilities`` (settings/grants -> capabilities),
``cves`` (version -> known CVEs), ``rules`` (finding metadata), ``safety`` (the SQL guard),
``codes`` (error texts), ``tsv`` (bounded TabSeparated parsing). Nothing is imported here.
"""

__all__: list[str] = []
