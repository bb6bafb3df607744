"""leakmap tests."""
