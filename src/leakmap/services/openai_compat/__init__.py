"""openai_compat service plugin (see ``plugin.py``)."""
