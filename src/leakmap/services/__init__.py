"""Service plugins: one module (or package) per service, each implementing :class:`Service`."""
