"""Integration tests against real servers started by fixtures on loopback."""
