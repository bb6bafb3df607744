"""prometheus service plugin (see ``plugin.py``)."""
