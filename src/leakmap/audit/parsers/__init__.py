"""One parser module per file type; each says which files it takes (:func:`takes`) and
turns a file into a document its checks read, with a line number for every value.

=================  ===============================================================
``clickhouse``     server configs (XML, YAML), merged with config.d/ and users.d/
``compose``        docker-compose files
``kubernetes``     Kubernetes manifests (Service, Ingress, Pod templates)
``helm``           Helm values files
``dotenv``         ``.env`` files
``terraform``      Terraform (``*.tf``, python-hcl2)
=================  ===============================================================
"""

from __future__ import annotations

__all__: list[str] = []
