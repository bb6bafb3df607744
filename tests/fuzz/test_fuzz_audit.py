"""Fuzzing the config auditor's parsers and checks (ClickHouse XML/YAML with merges, compose,
Kubernetes, Helm values, .env, Terraform): a file is audited or refused with one
UsageError line; no other exception, and no check crashes on it (a crashing check would
make the file ``unknown``: the fuzzer holds that at zero)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from leakmap.audit.engine import audit_paths
from leakmap.audit.model import FileStatus
from leakmap.errors import UsageError

from .harness import FUZZ

_XML_BITS = [
    "<clickhouse>",
    "</clickhouse>",
    "<yandex>",
    "</yandex>",
    "<users>",
    "</users>",
    "<default>",
    "</default>",
    "<password>",
    "</password>",
    "<networks>",
    "</networks>",
    "<ip>::/0</ip>",
    "<listen_host>::</listen_host>",
    "<profile>p</profile>",
    "<profiles>",
    "</profiles>",
    "<p><readonly>x</readonly></p>",
    "<access_management>1</access_management>",
    ' incl="n"',
    ' remove="1"',
    ' replace="1"',
    ' from_env="X"',
    "<user_files_path>/</user_files_path>",
    "<http_port>8123</http_port>",
    "<prometheus><port/></prometheus>",
    "<!--",
    "-->",
    "&amp;",
    "&x;",
    "<![CDATA[",
    "]]>",
    "<?xml version='1.0'?>",
    "\x00",
    "é",
    "<",
    ">",
]
_YAML_BITS = [
    "services:\n",
    "  a:\n",
    "    image: redis\n",
    "    image: clickhouse/x\n",
    "    ports: ['8123:8123']\n",
    "    ports:\n      - target: 9000\n",
    "    environment:\n",
    "      CLICKHOUSE_PASSWORD: ''\n",
    "      - CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT=1\n",
    "    command: mlflow server\n",
    "apiVersion: v1\n",
    "kind: Service\n",
    "spec:\n  type: LoadBalancer\n",
    "  ports: [{port: 8123}]\n",
    "---\n",
    "auth: {enabled: false}\n",
    "service: {type: NodePort, port: 6379}\n",
    "env: [{name: A}]\n",
    "- x\n",
    "&a [1]\n",
    "*a\n",
    "!!python/object:os.system\n",
    "{",
    "}",
    "[",
    "]",
    ": ",
    "\t",
    "listen_host: ['::']\n",
    "users: {default: {password: ''}}\n",
    "42\n",
    "~\n",
]
_TF_BITS = [
    'resource "aws_security_group" "a" {\n',
    "}\n",
    "ingress {\n",
    "from_port = 1\n",
    "to_port = 65535\n",
    'protocol = "-1"\n',
    'cidr_blocks = ["0.0.0.0/0"]\n',
    'resource "google_compute_firewall" "g" {\n',
    'allow { protocol = "tcp"\n',
    'ports = ["8000-x", "*"] }\n',
    'source_ranges = ["::/0"]\n',
    'resource "azurerm_network_security_rule" "r" {\n',
    'direction = "Inbound"\n',
    'access = "Allow"\n',
    'destination_port_range = "1-"\n',
    'source_address_prefix = "*"\n',
    "x = var.y\n",
    "${",
    '"',
    "=",
    "#",
    "/*",
]
_ENV_BITS = [
    "CLICKHOUSE_PASSWORD=",
    "CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT=1",
    "export A='b'",
    "JUPYTER_TOKEN=",
    "POSTGRES_HOST_AUTH_METHOD=trust",
    "=",
    "'",
    '"',
    "\n",
    "#",
    " ",
]

# file name -> what its content is made of
_KINDS = {
    "config.xml": _XML_BITS,
    "users.yaml": _YAML_BITS,
    "docker-compose.yml": _YAML_BITS,
    "values.yaml": _YAML_BITS,
    "manifest.yaml": _YAML_BITS,
    "main.tf": _TF_BITS,
    ".env": _ENV_BITS,
}


def _content(bits: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=200), st.lists(st.sampled_from(bits), max_size=30).map("".join)
    )


def _audit(name: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        if name == "manifest.yaml":
            path.write_text(
                "apiVersion: v1\nkind: List\n" + text, encoding="utf-8", errors="surrogatepass"
            )
        for target in ([str(path)], [tmp]):
            try:
                result = audit_paths(target, skip_other=True)
            except UsageError as exc:
                assert "\n" not in str(exc)
                continue
            assert [f for f in result.files if f.status is FileStatus.UNKNOWN] == []
            assert all(f.line >= 1 for f in result.findings)


@FUZZ
@given(
    st.sampled_from(sorted(_KINDS)).flatmap(lambda n: st.tuples(st.just(n), _content(_KINDS[n])))
)
@example(
    (
        "config.xml",
        '<clickhouse><users><default><networks incl="n"/></default></users></clickhouse>',
    )
)
@example(("docker-compose.yml", "services:\n  a:\n    ports: [{target: x}]\n"))
@example(
    ("main.tf", 'resource "aws_security_group_rule" "r" {\ntype = "ingress"\nfrom_port = "a"\n}\n')
)
def test_audit_file(case: tuple[str, str]) -> None:
    _audit(*case)
