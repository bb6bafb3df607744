"""mlflow service plugin (see ``plugin.py``)."""
