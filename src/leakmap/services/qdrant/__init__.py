"""qdrant service plugin (see ``plugin.py``)."""
