"""ollama service plugin (see ``plugin.py``)."""
