"""Tests of the classifier library and `leakmap classify`."""
