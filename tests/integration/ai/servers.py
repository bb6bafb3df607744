"""The AI-stack test servers, each in its own network namespace (:mod:`.netns`).

Builders return a started :class:`~.netns.NetnsServer` (the caller stops it) with its secrets as
attributes of the returned :class:`Started`. Programs come from cached venvs
(``tests.venvs.venv_bin``) or Debian (Prometheus); a missing one is ``None`` from
:func:`program` and the fixture skips (a failure in CI).

``jupyter(token=...)``       jupyter-server 2.x, root dir ``{dir}/root`` (``.root``); empty token
                             and password = open.
``mlflow(auth=...)``         ``mlflow server``, sqlite store, proxied artifacts; with ``auth`` the
                             basic-auth app (admin user and password random; default READ).
``chroma(token=...)``        ``chroma run`` (open) or the in-package app with token authn.
``litellm(config, key=...)`` the LiteLLM proxy with the given config (a mock model); with ``key``
                             that master key (without: the weak-key override is set).
``prometheus(auth=...)``     Debian's prometheus with a scrape config the test writes; with
                             ``auth`` a ``--web.config.file`` with a bcrypt basic-auth user.
``ray(token=...)``           a Ray head node with its dashboard (``ray start --head --block``);
                             with ``token`` ``RAY_AUTH_MODE=token`` and that token. Ray probes
                             a public resolver to find its address even when told it: the
                             namespace is what keeps it on loopback. Stopped by pid (never
                             ``ray stop``, which kills Ray processes machine-wide).
"""

from __future__ import annotations

import secrets
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from tests.venvs import venv_bin

with warnings.catch_warnings():
    # bcrypt for Prometheus's web config through libxcrypt; the module leaves in Python 3.13
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

from .netns import NetnsServer

__all__ = [
    "Started",
    "chroma",
    "jupyter",
    "litellm",
    "mlflow",
    "program",
    "prometheus",
    "ray",
]

PROMETHEUS = "/usr/bin/prometheus"


@dataclass
class Started:
    server: NetnsServer
    user: str | None = None
    password: str | None = None
    token: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ip(self) -> str:
        return self.server.ip

    @property
    def port(self) -> int:
        return self.server.port

    def stop(self) -> None:
        self.server.stop()


def program(venv: str | None, name: str) -> str | None:
    """The path of ``name`` in venv ``venv`` (None: a system program), or None if missing."""
    if venv is None:
        return name if Path(name).exists() or shutil.which(name) else None
    path = venv_bin(venv, name)
    return str(path) if path else None


def jupyter(*, token: str = "", root: Path | None = None) -> Started:
    exe = program("jupyter", "jupyter-server")
    assert exe, "jupyter venv missing"
    argv = [
        exe,
        "--allow-root",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.root_dir=" + (str(root) if root else "{dir}/root"),
        f"--IdentityProvider.token={token}",
        "--ServerApp.password=",
    ]
    env = {
        "JUPYTER_CONFIG_DIR": "{dir}/jupyter/config",
        "JUPYTER_DATA_DIR": "{dir}/jupyter/data",
        "JUPYTER_RUNTIME_DIR": "{dir}/jupyter/runtime",
        "IPYTHONDIR": "{dir}/ipython",
        "JUPYTER_PLATFORM_DIRS": "1",
    }

    def prepare(directory: Path) -> None:
        (directory / "root").mkdir(exist_ok=True)

    server = NetnsServer("jupyter", argv, port=8888, env=env, ready="/api", prepare=prepare)
    return Started(server.start(), token=token or None)


def mlflow(*, auth: bool = False) -> Started:
    exe = program("mlflow", "mlflow")
    assert exe, "mlflow venv missing"
    argv = [
        exe,
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--backend-store-uri",
        "sqlite:///{dir}/mlflow.db",
        "--artifacts-destination",
        "{dir}/artifacts",
        "--workers",
        "1",
        "--allowed-hosts",
        "{ip}:{port},127.0.0.1:{port},localhost:{port}",
    ]
    env = {
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_ENABLE_TELEMETRY": "false",
        # seven huey job consumers per server otherwise (GenAI jobs the tests never use)
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    user = password = None
    if auth:
        user, password = "admin", secrets.token_urlsafe(18)
        argv += ["--app-name", "basic-auth"]
        env |= {
            "MLFLOW_AUTH_CONFIG_PATH": "{dir}/auth.ini",
            "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
        }

    def prepare(directory: Path) -> None:
        if auth:
            (directory / "auth.ini").write_text(
                "[mlflow]\n"
                "default_permission = READ\n"
                f"database_uri = sqlite:///{directory}/basic_auth.db\n"
                f"admin_username = {user}\n"
                f"admin_password = {password}\n"
                "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            )

    server = NetnsServer("mlflow", argv, port=5000, env=env, ready="/health", prepare=prepare)
    return Started(server.start(), user=user, password=password)


def chroma(*, token: str = "") -> Started:
    env = {"ANONYMIZED_TELEMETRY": "False", "CHROMA_TELEMETRY": "False"}
    if not token:
        exe = program("chroma", "chroma")
        assert exe, "chroma venv missing"
        argv = [exe, "run", "--host", "127.0.0.1", "--port", "{port}", "--path", "{dir}/data"]
    else:
        exe = program("chroma", "uvicorn")
        assert exe, "chroma venv missing"
        argv = [exe, "chromadb.app:app", "--host", "127.0.0.1", "--port", "{port}"]
        argv += ["--workers", "1", "--log-level", "warning"]
        env |= {
            "CHROMA_SERVER_AUTHN_PROVIDER": (
                "chromadb.auth.token_authn.TokenAuthenticationServerProvider"
            ),
            "CHROMA_SERVER_AUTHN_CREDENTIALS": token,
            "IS_PERSISTENT": "TRUE",
            "PERSIST_DIRECTORY": "{dir}/data",
        }
    server = NetnsServer("chroma", argv, port=8000, env=env, ready="/api/v2/heartbeat")
    return Started(server.start(), token=token or None)


def prometheus(*, config: str, auth: bool = False) -> Started:
    exe = program(None, PROMETHEUS)
    assert exe, "prometheus missing"
    argv = [
        exe,
        "--config.file={dir}/prometheus.yml",
        "--storage.tsdb.path={dir}/data",
        "--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    user = password = None
    if auth:
        user, password = "monitor", secrets.token_urlsafe(18)
        argv.append("--web.config.file={dir}/web.yml")
    salt = crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)
    hashed = crypt.crypt(password, salt) if password else ""

    def prepare(directory: Path) -> None:
        (directory / "prometheus.yml").write_text(config)
        if auth:
            (directory / "web.yml").write_text(f"basic_auth_users:\n  {user}: '{hashed}'\n")

    server = NetnsServer("prometheus", argv, port=9090, ready="/-/healthy", prepare=prepare)
    return Started(server.start(), user=user, password=password)


def litellm(*, config: str, key: str = "") -> Started:
    exe = program("litellm", "litellm")
    assert exe, "litellm venv missing"
    argv = [exe, "--config", "{dir}/config.yaml", "--host", "127.0.0.1", "--port", "{port}"]
    argv += ["--num_workers", "1"]
    env = {
        # the price list is fetched from the internet unless told to use the packaged copy
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
    }
    if key:
        config += f"general_settings:\n  master_key: {key}\n"
    else:
        env["LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY"] = "true"

    def prepare(directory: Path) -> None:
        (directory / "config.yaml").write_text(config)

    server = NetnsServer(
        "litellm", argv, port=4000, env=env, ready="/health/liveliness", prepare=prepare
    )
    return Started(server.start(), token=key or None)


def ray(*, token: str = "") -> Started:
    exe = program("ray", "ray")
    assert exe, "ray venv missing"
    argv = [exe, "start", "--head", "--block", "--disable-usage-stats"]
    argv += ["--node-ip-address", "127.0.0.1", "--port", "6390", "--num-cpus", "1"]
    argv += ["--include-dashboard", "true", "--dashboard-host", "127.0.0.1"]
    argv += ["--dashboard-port", "{port}", "--object-store-memory", "100000000"]
    argv += ["--temp-dir", "{dir}/ray"]
    env = {"RAY_USAGE_STATS_ENABLED": "0"}
    if token:
        env |= {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    # the namespace is swept with SIGKILL after the grace: Ray's own shutdown takes over 15 s
    server = NetnsServer(
        "ray", argv, port=8265, env=env, ready="/api/authentication_mode", stop_grace=3.0
    )
    return Started(server.start(), token=token or None)
