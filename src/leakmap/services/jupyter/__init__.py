"""jupyter service plugin (see ``plugin.py``)."""
