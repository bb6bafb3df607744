"""chroma service plugin (see ``plugin.py``)."""
