"""Classifier benchmark: a labelled corpus generator and a scorer against detect-secrets."""

__all__: list[str] = []
