"""Checks over Terraform network rules.

Example::

    high  main.tf:9  terraform.datastore-port-open-world  aws_security_group.db: 8123 from 0.0.0.0/0
"""

from __future__ import annotations

from collections.abc import Iterator

from leakmap.audit.checks import Hit, check
from leakmap.audit.deploy import DATA_PORTS
from leakmap.audit.parsers.terraform import TerraformDoc

__all__: list[str] = []

_WORLD = {"0.0.0.0/0", "::/0", "*", "internet", "any", "0.0.0.0"}  # noqa: S104


@check("terraform")
def open_world(doc: TerraformDoc) -> Iterator[Hit]:
    for rule in doc.rules:
        world = [s for s in rule.sources if s.strip().lower() in _WORLD]
        if not world:
            continue
        ports = sorted(p for p in DATA_PORTS if any(lo <= p <= hi for lo, hi in rule.ports))
        if not ports:
            continue
        shown = ", ".join(f"{p} ({DATA_PORTS[p]})" for p in ports[:4])
        if len(ports) > 4:
            shown += f" and {len(ports) - 4} more"
        yield Hit(
            "terraform.datastore-port-open-world",
            getattr(doc, "path", ""),
            rule.line,
            f"{rule.resource}: {shown} from {', '.join(world)}",
            key=rule.resource,
        )
