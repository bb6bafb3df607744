"""Network layer: port scanning, name resolution and bounded I/O."""
