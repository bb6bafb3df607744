"""leakmap: find exposed data stores in your own infrastructure and show what they leak.

The data flows one way::

    Target -> Host -> OpenPort -> Endpoint -> Access -> Resource -> Sample
           -> DataFinding -> Finding -> reports

Nothing is done at import time.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
