"""Scan history, diff and verification.

* :mod:`~leakmap.history.store`: every scan in an embedded SQLite database (default
  under the user's data directory), created owner-only, holding the scan's JSON document
  only (redacted values, never a raw sample);
* :mod:`~leakmap.history.diff`: new, fixed, unchanged (and unknown) findings between
  two runs or report files;
* :mod:`~leakmap.history.verify`: the earlier findings' status after re-probing their
  endpoints: fixed, open or unknown (never fixed by default).
"""

__all__: list[str] = []
