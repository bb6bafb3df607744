"""ClickHouse service plugin."""
