"""The Ray dashboard plugin (jobs, nodes, code execution through the Jobs API)."""
