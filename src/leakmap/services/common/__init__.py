"""Code every service plugin shares (see docs/PLUGINS.md): proofs of openness, the sanitiser
of hostile text, sample classification, the finding catalogue, versions and CVEs, the SQL
statement guard and time budgets. Plugins call these; no plugin copies them."""
