"""litellm service plugin (see ``plugin.py``)."""
