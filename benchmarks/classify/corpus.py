"""Labelled corpus of AI-service log lines for the classifier benchmark.

Usage (from the repository root)::

    python -m benchmarks.classify.corpus --mb 5 --seed 1 --out corpus.log --labels labels.jsonl
    python -m benchmarks.classify.corpus --lines 20000 --seed 7 --style heldout \
        --out h.log --labels h.jsonl

``--out`` receives only the log lines (what the tools scan). ``--labels`` receives one JSON
object per line, in the same order::

    {"line": 17, "labels": ["chat", "pii"], "family": "gateway_json",
     "kinds": ["chat.record", "pii.email"], "decoys": ["uuid", "sri"], "unscored": []}

``labels`` is the set of categories the line truly contains (empty = clean), known by
construction: each line is assembled from atoms (:mod:`benchmarks.classify.atoms`) that
record what they insert, and :mod:`benchmarks.classify.oracle` rejects any record whose
filler or hard negatives accidentally contain a positive. ``kinds`` and ``decoys`` name what
was inserted (never the raw values), for error analysis. ``unscored`` lists the categories
for which the line's truth is debatable (e.g. ``LANG=C.UTF-8`` inside an environment dump, a
bare Go stack-frame function line: part of an infrastructure dump, yet exposing nothing on
its own); the benchmark does not score the line for those categories.

The same seed, size and style always give byte-identical output.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.classify import fakes
from benchmarks.classify.atoms import (
    Clock,
    Draft,
    JsonFrag,
    chat_json,
    chat_text,
    decoy_json,
    decoy_text,
    infra_json,
    infra_text,
    internal_host,
    merge,
    pick_path,
    pii_json,
    pii_text,
    private_ip,
    provider_key,
    public_ip,
    secret_json,
    secret_text,
    server_path,
)
from benchmarks.classify.fakes import ALNUM, hexstr, rand, uuid4
from benchmarks.classify.oracle import violations

__all__ = [
    "Family",
    "LineRecord",
    "Stats",
    "generate",
    "main",
    "write_corpus",
]

SECRET, PII, CHAT, INFRA = "secret", "pii", "chat", "infrastructure"
ALL = frozenset({SECRET, PII, CHAT, INFRA})


@dataclass(frozen=True)
class LineRecord:
    """One corpus line with its ground truth."""

    text: str
    labels: frozenset[str]
    family: str
    kinds: tuple[str, ...]
    decoys: tuple[str, ...]
    unscored: frozenset[str] = frozenset()

    def label_json(self, line: int) -> dict[str, Any]:
        return {
            "line": line,
            "labels": sorted(self.labels),
            "family": self.family,
            "kinds": list(self.kinds),
            "decoys": list(self.decoys),
            "unscored": sorted(self.unscored),
        }


FamilyFn = Callable[[Draft, frozenset[str]], list[Draft]]


@dataclass(frozen=True)
class Family:
    """A template family: a function building one record (one or more physical lines) and
    the categories it can host."""

    name: str
    fn: FamilyFn
    supports: frozenset[str]
    weight: float = 1.0


@dataclass
class Stats:
    """What the generator produced."""

    lines: int = 0
    bytes: int = 0
    per_label: Counter[str] = field(default_factory=Counter)
    per_family: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        clean = self.per_label["(clean)"]
        parts = [
            f"{self.lines} lines, {self.bytes / 1e6:.2f} MB, clean "
            f"{clean / max(self.lines, 1):.1%}",
            "labels: " + ", ".join(f"{k}={v}" for k, v in sorted(self.per_label.items())),
            "families: " + ", ".join(f"{k}={v}" for k, v in sorted(self.per_family.items())),
        ]
        if self.rejected:
            parts.append(
                "oracle rejections: "
                + ", ".join(f"{k}={v}" for k, v in self.rejected.most_common(8))
            )
        return "\n".join(parts)


# --------------------------------------------------------------------------- helpers


def _decoys_json(d: Draft, lo: int = 1, hi: int = 3) -> JsonFrag:
    out: JsonFrag = {}
    for _ in range(d.rng.randint(lo, hi)):
        merge(out, decoy_json(d))
    return out


def _decoys_text(d: Draft, lo: int = 1, hi: int = 3) -> list[str]:
    return [decoy_text(d) for _ in range(d.rng.randint(lo, hi))]


def _chat_embed(d: Draft, want: frozenset[str]) -> tuple[str | None, frozenset[str]]:
    """When chat is wanted with another category, sometimes put that one *inside* the chat
    content. Returns (embedded category or None, categories still to place)."""
    others = sorted(want - {CHAT})
    if CHAT in want and others and d.rng.random() < 0.6:
        e = d.rng.choice(others)
        return e, want - {e}
    return None, want


def _json_fill(d: Draft, rec: JsonFrag, want: frozenset[str]) -> JsonFrag:
    embed, rest = _chat_embed(d, want)
    order = sorted(rest)
    d.rng.shuffle(order)
    for cat in order:
        if cat == SECRET:
            merge(rec, secret_json(d))
        elif cat == PII:
            merge(rec, pii_json(d))
        elif cat == INFRA:
            merge(rec, infra_json(d))
        else:
            merge(
                rec, {d.rng.choice(["request", "body", "response", "payload"]): chat_json(d, embed)}
            )
    return merge(rec, _decoys_json(d, 0, 3))


def _text_fill(d: Draft, want: frozenset[str]) -> list[str]:
    embed, rest = _chat_embed(d, want)
    parts: list[str] = []
    for cat in sorted(rest):
        if cat == SECRET:
            parts.append(secret_text(d))
        elif cat == PII:
            parts.append(pii_text(d))
        elif cat == INFRA:
            parts.append(infra_text(d))
        else:
            parts.append(chat_text(d, embed))
    parts += _decoys_text(d, 0, 2)
    d.rng.shuffle(parts)
    return parts


def _dumps(d: Draft, rec: JsonFrag) -> str:
    compact = d.rng.random() < 0.3
    return json.dumps(
        rec,
        ensure_ascii=d.rng.random() < 0.5,
        separators=(",", ":") if compact else (", ", ": "),
    )


def _flatten(prefix: str, v: object) -> Iterator[tuple[str, object]]:
    if isinstance(v, dict) and v and len(v) <= 6 and not any(k in v for k in ("role", "type")):
        for k, sub in v.items():
            yield from _flatten(f"{prefix}.{k}" if prefix else str(k), sub)
    else:
        yield prefix, v


def _logfmt_value(v: object) -> str:
    if isinstance(v, dict | list):
        s = json.dumps(v, separators=(",", ":"))
        return json.dumps(s)
    if isinstance(v, bool):
        return "true" if v else "false"
    s = str(v)
    if not s or any(c in s for c in ' "=\n'):
        return json.dumps(s)
    return s


LEVELS = ["INFO", "INFO", "INFO", "DEBUG", "WARNING", "ERROR"]
LOGGERS = [
    "chat.api",
    "llm.router",
    "gateway.proxy",
    "worker.embed",
    "app.billing",
    "uvicorn.error",
    "httpx",
    "openai._base_client",
    "anthropic._base_client",
    "litellm",
    "rag.indexer",
]
MSGS = [
    "request completed",
    "upstream call finished",
    "cache miss",
    "stream closed",
    "retrying request",
    "rate limited by provider",
    "moderation passed",
    "tokens counted",
    "session refreshed",
    "webhook delivered",
    "embedding batch stored",
    "fallback model used",
]
UAS = [
    "OpenAI/Python 1.51.2",
    "python-httpx/0.27.2",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "curl/8.5.0",
    "anthropic-typescript/0.27.3",
    "Go-http-client/2.0",
    "okhttp/4.12.0",
    "PostmanRuntime/7.42.0",
]


# --------------------------------------------------------------------------- families


def fam_gateway_json(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    rec: JsonFrag = {
        rng.choice(["ts", "timestamp", "@timestamp", "time"]): d.iso(),
        "level": rng.choice(["info", "info", "warn", "error", "debug"]),
        "service": rng.choice(["llm-gateway", "chat-api", "litellm-proxy", "router"]),
        rng.choice(["msg", "message", "event"]): rng.choice(MSGS),
        "method": rng.choice(["POST", "POST", "GET"]),
        "path": pick_path(rng),
        "status": rng.choice([200, 200, 200, 201, 400, 401, 429, 500, 502, 503]),
        "duration_ms": rng.randint(3, 45000),
        "model": d.neg("model_name", rng.choice(fakes.MODEL_NAMES)),
        "request_id": d.neg("uuid", uuid4(rng)),
    }
    if rng.random() < 0.5:
        rec["usage"] = {
            "prompt_tokens": rng.randint(1, 8000),
            "completion_tokens": rng.randint(1, 2000),
        }
    d.text = _dumps(d, _json_fill(d, rec, want))
    return [d]


def _query(d: Draft, want: frozenset[str]) -> tuple[str, str]:
    """A query string (and a Host value) carrying the wanted secret / pii."""
    rng = d.rng
    params: list[str] = []
    host = rng.choice(["api.acme-robotics.io", "chat.northwind.ai", "gw.hooli.dev"])
    if SECRET in want:
        r = rng.random()
        if r < 0.7:
            p, t, phost = provider_key(d)
            if p.kind == "google_ai":
                params.append(f"key={t}")
            else:
                params.append(f"{rng.choice(['api_key', 'apikey', 'token', 'access_token'])}={t}")
            if p.needs_context:
                host = phost
        else:
            from benchmarks.classify.atoms import jwt

            params.append(f"access_token={jwt(d)}")
    if PII in want:
        if rng.random() < 0.6:
            params.append(f"email={d.pos(PII, 'email', fakes.email(rng))}")
        else:
            ph, region = fakes.phone(rng, national_ok=False)
            params.append(f"phone={d.pos(PII, f'phone_{region}', ph.replace(' ', ''))}")
    if rng.random() < 0.4:
        params.append(f"request_id={d.neg('uuid', uuid4(rng))}")
    if rng.random() < 0.2:
        params.append(f"v={d.neg('version', str(rng.randint(1, 9)))}")
    rng.shuffle(params)
    return ("?" + "&".join(params) if params else ""), host


def fam_nginx(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    q, host = _query(d, want)
    method = rng.choice(["POST", "GET", "GET"])
    user = "-"
    line = (
        f'{d.neg("public_ip", public_ip(rng))} - {user} [{d.clf()}] "{method} {pick_path(rng)}{q} '
        f'HTTP/{rng.choice(["1.1", "2.0"])}" '
        f"{rng.choice([200, 200, 204, 301, 400, 401, 404, 429, 499, 502])} "
        f'{rng.randint(0, 90000)} "-" "{rng.choice(UAS)}"'
    )
    if INFRA in want or rng.random() < 0.5:
        line += f" rt={rng.random() * 12:.3f} host={host}"
    if INFRA in want:
        if rng.random() < 0.6:
            up = d.pos(
                INFRA, "private_ip_port", f"{private_ip(rng)}:{rng.choice([8000, 8080, 3000])}"
            )
        else:
            up = d.pos(
                INFRA, "internal_host", f"{internal_host(rng)}:{rng.choice([8000, 8080, 80])}"
            )
        line += f" upstream={up} urt={rng.random() * 12:.3f}"
    elif rng.random() < 0.3:
        line += f" rid={d.neg('trace_id', hexstr(rng, 32))}"
    d.text = line
    return [d]


def fam_uvicorn(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    q, _ = _query(d, want)
    code, phrase = rng.choice(
        [
            (200, "OK"),
            (201, "Created"),
            (401, "Unauthorized"),
            (422, "Unprocessable Entity"),
            (500, "Internal Server Error"),
        ]
    )
    d.text = (
        f"INFO:     {d.neg('public_ip_port', f'{public_ip(rng)}:{rng.randint(1024, 65535)}')} - "
        f'"{rng.choice(["POST", "GET"])} {pick_path(rng)}{q} HTTP/1.1" {code} {phrase}'
    )
    return [d]


def fam_pylog(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    parts = _text_fill(d, want)
    msg = rng.choice(MSGS)
    body = f"{msg}: " + " ".join(parts) if parts else msg
    d.text = f"{d.pyts()} {rng.choice(LEVELS):<7} [{rng.choice(LOGGERS)}] {body}"
    return [d]


def fam_logfmt(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    rec: JsonFrag = {
        "time": d.iso(),
        "level": rng.choice(["info", "warn", "error", "debug"]),
        "msg": rng.choice(MSGS),
        "caller": (
            f"{rng.choice(['proxy', 'router', 'store'])}/{rng.choice(['handler', 'client'])}."
            f"go:{rng.randint(10, 600)}"
        ),
    }
    _json_fill(d, rec, want)
    d.text = " ".join(
        f"{k}={_logfmt_value(v)}" for key, val in rec.items() for k, v in _flatten(key, val)
    )
    return [d]


def fam_celery(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    task = rng.choice(
        [
            "chat.tasks.summarize",
            "rag.tasks.embed_document",
            "billing.tasks.charge",
            "notify.tasks.send",
        ]
    )
    head = (
        f"[{d.pyts()}: INFO/ForkPoolWorker-{rng.randint(1, 16)}] Task "
        f"{task}[{d.neg('uuid', uuid4(rng))}]"
    )
    rec: JsonFrag = {"status": "ok", "elapsed": round(rng.random() * 9, 3)}
    _json_fill(d, rec, want)
    d.text = f"{head} succeeded in {rng.random() * 20:.4f}s: {rec!r}"
    return [d]


def fam_chat_record(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    embed, rest = _chat_embed(d, want)
    body = chat_json(d, embed)
    k = rng.randrange(3)
    if k == 0:
        rec: JsonFrag = body
    elif k == 1:
        rec = {
            "ts": d.iso(),
            "type": rng.choice(["llm.request", "llm.response", "chat.turn"]),
            "body": body,
        }
    else:
        rec = {
            "timestamp": d.iso(),
            "session_id": d.neg("uuid", uuid4(rng)),
            "level": "INFO",
            "message": json.dumps(body, ensure_ascii=False),
        }
    for cat in sorted(rest - {CHAT}):
        merge(rec, {SECRET: secret_json, PII: pii_json, INFRA: infra_json}[cat](d))
    merge(rec, _decoys_json(d, 0, 2))
    d.text = _dumps(d, rec)
    return [d]


def fam_flat_chat(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    parts = _text_fill(d, want)
    if CHAT not in want:  # conversation metadata without content: a chat hard negative
        parts.insert(
            0,
            d.neg(
                "chat_metadata",
                f"event=conversation.closed turns={rng.randint(1, 40)} "
                f"messages_count={rng.randint(1, 80)} role=member",
            ),
        )
    d.text = f"{d.iso()} conv={d.neg('uuid', uuid4(rng))[:8]} " + " ".join(parts)
    return [d]


def _yaml_lines(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    out = [d]
    d.text = f"{d.pyts()} INFO [config] effective configuration:"
    entries: list[tuple[str, Callable[[Draft], str]]] = [
        ("llm:", lambda x: ""),
        ("  provider: " + rng.choice(["openai", "anthropic", "azure", "bedrock"]), lambda x: ""),
        ("  model: ", lambda x: x.neg("model_name", rng.choice(fakes.MODEL_NAMES))),
        ("  timeout: ", lambda x: str(rng.choice([30, 60, 120]))),
        ("  max_retries: ", lambda x: str(rng.randint(0, 5))),
        (
            "  api_key: ",
            lambda x: x.neg(
                "placeholder", rng.choice(["${OPENAI_API_KEY}", "<redacted>", "''", "your-api-key"])
            ),
        ),
        ("server:", lambda x: ""),
        ("  port: ", lambda x: str(rng.choice([8000, 8080]))),
        ("  workers: ", lambda x: str(rng.randint(1, 16))),
    ]
    if SECRET in want:

        def sec(x: Draft) -> str:
            _, t, _ = provider_key(x)
            return t

        entries.insert(
            rng.randint(1, len(entries)),
            ("  " + rng.choice(["api_key", "token", "secret_key"]) + ": ", sec),
        )
    if INFRA in want:

        def infra(x: Draft) -> str:
            if rng.random() < 0.5:
                return x.pos(INFRA, "server_path", server_path(rng))
            return x.pos(INFRA, "internal_host", internal_host(rng))

        entries.insert(
            rng.randint(1, len(entries)),
            ("  " + rng.choice(["data_dir", "db_host", "log_file", "cache_host"]) + ": ", infra),
        )
    for prefix, fn in entries:
        c = d.child()
        c.text = prefix + fn(c)
        out.append(c)
    return out


def _dotenv_lines(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    out = []
    plain = [
        ("LOG_LEVEL", lambda x: rng.choice(["info", "debug"])),
        ("WORKERS", lambda x: str(rng.randint(1, 8))),
        ("DEFAULT_MODEL", lambda x: x.neg("model_name", rng.choice(fakes.MODEL_NAMES))),
        ("OPENAI_API_KEY", lambda x: x.neg("placeholder", rng.choice(fakes.PLACEHOLDERS[:12]))),
        ("REQUEST_TIMEOUT", lambda x: str(rng.choice([30, 60]))),
        ("SENTRY_RELEASE", lambda x: x.neg("git_sha", hexstr(rng, 40))),
        ("TZ", lambda x: "UTC"),
    ]
    rng.shuffle(plain)
    lines: list[tuple[str, Callable[[Draft], str]]] = list(plain[: rng.randint(3, 6)])
    if SECRET in want:

        def sec(x: Draft) -> str:
            return secret_text(x)

        lines.insert(rng.randint(0, len(lines)), ("", sec))
    if INFRA in want:

        def infra(x: Draft) -> str:
            if rng.random() < 0.6:
                name = rng.choice(["REDIS_HOST=", "CLICKHOUSE_HOST=", "QDRANT_HOST="])
                return name + x.pos(INFRA, "internal_host", internal_host(rng))
            name = rng.choice(["MODEL_DIR=", "CONFIG_PATH=", "LOG_FILE="])
            return name + x.pos(INFRA, "server_path", server_path(rng))

        lines.insert(rng.randint(0, len(lines)), ("", infra))
    for name, fn in lines:
        c = d.child()
        c.text = f"{name}={fn(c)}" if name else fn(c)
        if INFRA not in c.labels:
            c.unscore(INFRA)
        out.append(c)
    return out


def fam_config(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    k = rng.randrange(3)
    if k == 0:
        rec: JsonFrag = {
            "model": d.neg("model_name", rng.choice(fakes.MODEL_NAMES)),
            "temperature": round(rng.random(), 2),
            "base_url": "https://"
            + rng.choice(["api.openai.com/v1", "api.anthropic.com", "api.deepseek.com"]),
            "max_retries": rng.randint(0, 5),
        }
        _json_fill(d, rec, want)
        d.text = f"{d.pyts()} INFO [settings] loaded settings {_dumps(d, rec)}"
        return [d]
    if k == 1:
        return _yaml_lines(d, want)
    return _dotenv_lines(d, want)


def fam_env_dump(d: Draft, want: frozenset[str]) -> list[Draft]:
    """``env`` printed at container start, one variable a line."""
    rng = d.rng
    d.text = f"{d.pyts()} DEBUG [bootstrap] process environment follows"
    out = [d]
    items: list[tuple[str, Callable[[Draft], str]]] = [
        ("LANG", lambda x: "C.UTF-8"),
        ("PYTHONUNBUFFERED", lambda x: "1"),
        ("KUBERNETES_SERVICE_PORT", lambda x: "443"),
        ("MODEL", lambda x: x.neg("model_name", rng.choice(fakes.MODEL_NAMES))),
        ("GIT_COMMIT", lambda x: x.neg("git_sha", hexstr(rng, 40))),
        (
            "HOME",
            lambda x: x.pos(INFRA, "server_path", f"/home/{rng.choice(['app', 'deploy', 'svc'])}"),
        ),
        (
            "PWD",
            lambda x: x.pos(INFRA, "server_path", f"/srv/{rng.choice(['chat-api', 'gateway'])}"),
        ),
        (
            "PATH",
            lambda x: x.pos(
                INFRA, "server_path", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
            ),
        ),
        (
            "KUBERNETES_PORT",
            lambda x: "tcp://" + x.pos(INFRA, "private_ip_port", f"{private_ip(rng)}:443"),
        ),
        ("", lambda x: conn(x)),
    ]

    def conn(x: Draft) -> str:
        from benchmarks.classify.atoms import conn_string

        url = conn_string(x, with_password=SECRET in want)
        scheme = url.split(":", 1)[0].replace("+srv", "").upper()
        return f"{scheme}_URL={url}"

    rng.shuffle(items)
    chosen = items[: rng.randint(4, 8)]
    if SECRET in want and not any(n == "" for n, _ in chosen):

        def sec(x: Draft) -> str:
            p, t, _ = provider_key(x)
            return f"{rng.choice(p.env)}={t}"

        chosen.append(("", sec))
    for name, fn in chosen:
        c = d.child()
        c.text = f"{name}={fn(c)}" if name else fn(c)
        if INFRA not in c.labels:
            c.unscore(INFRA)
        out.append(c)
    return out


def _exception_line(d: Draft, want: frozenset[str], lang: str) -> str:
    rng = d.rng
    if SECRET in want:
        return {
            "py": "httpx.HTTPStatusError: Client error '401 Unauthorized' for ",
            "java": "Caused by: java.io.IOException: Server returned HTTP response code: 401 for ",
            "go": "panic: upstream auth failed: ",
            "node": "Error: Request failed with status code 401: ",
        }[lang] + secret_text(d)
    if PII in want:
        return {
            "py": "ValueError: duplicate account for ",
            "java": "Caused by: com.acme.billing.DuplicateCustomerException: ",
            "go": "panic: customer lookup failed: ",
            "node": "Error: validation failed: ",
        }[lang] + pii_text(d)
    if rng.random() < 0.25:
        masked = d.neg(
            "masked_key",
            rng.choice(["sk-proj-", "sk-ant-api03-"])
            + "*" * rng.randint(8, 30)
            + rand(rng, ALNUM, 4),
        )
        return (
            "openai.AuthenticationError: Error code: 401 - {'error': {'message': "
            f"'Incorrect API key provided: {masked}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.', "
            "'type': 'invalid_request_error', 'code': 'invalid_api_key'}}"
        )
    return rng.choice(
        [
            "openai.RateLimitError: Error code: 429 - {'error': {'message': 'Rate limit reached "
            "for gpt-4o-mini', 'type': 'requests', 'code': 'rate_limit_exceeded'}}",
            "anthropic.APIStatusError: {'type': 'error', 'error': {'type': 'overloaded_error', "
            "'message': 'Overloaded'}}",
            "KeyError: 'choices'",
            "TimeoutError: upstream did not answer within 60 seconds",
            "java.lang.IllegalStateException: Connection pool shut down",
            "Error: socket hang up",
            "panic: runtime error: invalid memory address or nil pointer dereference",
        ]
    )


_PY_CODE = [
    "resp = await client.chat.completions.create(**payload)",
    "return self._retry_request(options, cast_to)",
    "raise self._make_status_error_from_response(err.response) from None",
    "data = json.loads(raw)",
]


def _py_frame(x: Draft) -> str:
    rng = x.rng
    if rng.random() < 0.3:
        pkg = rng.choice(["openai", "anthropic", "httpx", "httpcore", "starlette", "sqlalchemy"])
        path = f"/usr/local/lib/python3.11/site-packages/{pkg}/{rng.choice(['_client', 'base'])}.py"
    else:
        app = rng.choice(["chat-api", "gateway"])
        path = f"/srv/{app}/app/{rng.choice(['main', 'llm', 'db'])}.py"
    fn = rng.choice(["handle", "_request", "create", "run", "__call__"])
    x.pos(INFRA, "trace_frame", path)
    return f'  File "{path}", line {rng.randint(5, 2000)}, in {fn}'


def _java_frame(rng: random.Random) -> str:
    cls = rng.choice(["ChatController", "LlmClient", "RetryInterceptor", "PoolManager"])
    meth = rng.choice(["handle", "call", "execute"])
    return f"com.acme.chat.{cls}.{meth}({cls}.java:{rng.randint(10, 900)})"


def _go_func(rng: random.Random) -> str:
    meth = rng.choice(["handle", "proxy", "serve"])
    return f"main.(*Server).{meth}(0xc000{hexstr(rng, 6)}, 0x{hexstr(rng, 4)})"


def _go_frame(rng: random.Random) -> str:
    repo = rng.choice(["gateway", "router"])
    f = rng.choice(["server", "proxy"])
    return f"/go/src/github.com/acme/{repo}/{f}.go:{rng.randint(10, 900)} +0x{hexstr(rng, 3)}"


def _node_frame(rng: random.Random) -> str:
    if rng.random() < 0.7:
        fn = rng.choice(["Object.<anonymous>", "handler", "async Promise.all"])
        f = rng.choice(["index", "routes/chat", "lib/llm"])
        return f"{fn} (/srv/app/{f}.js:{rng.randint(1, 500)}:{rng.randint(1, 80)})"
    return (
        "process.processTicksAndRejections "
        f"(node:internal/process/task_queues:{rng.randint(60, 99)}:{rng.randint(1, 9)})"
    )


def fam_traceback(d: Draft, want: frozenset[str]) -> list[Draft]:
    """A multi-line stack trace (Python, Java, Go or Node); frame lines are infrastructure."""
    rng = d.rng
    lang = rng.choice(["py", "py", "java", "go", "node"])
    where = pick_path(rng)
    d.text = f"{d.pyts()} ERROR [{rng.choice(LOGGERS)}] unhandled exception while serving {where}"
    out = [d]

    def add(text_fn: Callable[[Draft], str], ambiguous: bool = False) -> None:
        c = d.child()
        c.text = text_fn(c)
        if ambiguous:
            c.unscore(INFRA)
        out.append(c)

    frames = rng.randint(2, 5)
    if lang == "py":
        add(lambda x: x.pos(INFRA, "trace_header", "Traceback (most recent call last):"))
        for _ in range(frames):
            add(lambda x: _py_frame(x))
            add(lambda x: "    " + rng.choice(_PY_CODE))
    elif lang == "java":
        for _ in range(frames + 1):
            add(lambda x: "\tat " + x.pos(INFRA, "trace_frame", _java_frame(rng)))
        add(lambda x: f"\t... {rng.randint(3, 40)} more")
    elif lang == "go":
        add(lambda x: x.pos(INFRA, "trace_header", f"goroutine {rng.randint(1, 9999)} [running]:"))
        for _ in range(frames):
            add(lambda x: _go_func(rng), ambiguous=True)
            add(lambda x: "\t" + x.pos(INFRA, "trace_frame", _go_frame(rng)))
    else:
        for _ in range(frames):
            add(lambda x: "    at " + x.pos(INFRA, "trace_frame", _node_frame(rng)))
    add(lambda x: _exception_line(x, want, lang))
    return out


def fam_exc_json(d: Draft, want: frozenset[str]) -> list[Draft]:
    """A JSON log record with the trace in one escaped string."""
    rng = d.rng
    frames = "".join(_py_frame(d) + "\n" for _ in range(rng.randint(1, 4)))
    d.pos(INFRA, "trace_json", "")
    rec: JsonFrag = {
        "time": d.iso(),
        "level": "error",
        "logger": rng.choice(LOGGERS),
        "message": "request failed",
        "exc_info": "Traceback (most recent call last):\n"
        + frames
        + rng.choice(
            [
                "KeyError: 'choices'",
                "TimeoutError: timed out",
                "ConnectionResetError: [Errno 104] Connection reset by peer",
            ]
        ),
    }
    _json_fill(d, rec, want - {INFRA})
    d.text = _dumps(d, rec)
    return [d]


def fam_sdk_error(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    lvl = rng.choice(["WARNING", "ERROR"])
    if SECRET in want:
        msg = rng.choice(
            [
                "request failed: ",
                "AuthenticationError: provider said invalid credentials - ",
                "retrying after 401: ",
            ]
        ) + secret_text(d)
    else:
        msg = rng.choice(
            [
                f"Retrying request to /chat/completions in {rng.random() * 3:.6f} seconds",
                "Error code: 400 - {'error': {'message': \"This model's maximum context length is "
                "128000 tokens.\", 'code': 'context_length_exceeded'}}",
                "Error code: 401 - {'error': {'message': 'Incorrect API key provided: "
                + d.neg(
                    "masked_key",
                    "sk-"
                    + rng.choice(["proj-", ""])
                    + "*" * rng.randint(10, 40)
                    + rand(rng, ALNUM, 4),
                )
                + ".', 'code': 'invalid_api_key'}}",
                "{'type': 'error', 'error': {'type': 'authentication_error', "
                "'message': 'invalid x-api-key'}}",
                "Error code: 429 - insufficient_quota",
            ]
        )
    extra = " " + " ".join(_text_fill(d, want - {SECRET})) if want - {SECRET} else ""
    logger = rng.choice(["openai._base_client", "anthropic._base_client", "litellm"])
    d.text = f"{d.pyts()} {lvl} [{logger}] {msg}{extra}"
    return [d]


def fam_k8s(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    app = rng.choice(["chat-api", "gateway", "embed-worker"])
    pod = f"pod/{app}-{hexstr(rng, 9)}-{rand(rng, 'bcdfghjklmnpqrstvwxz2456789', 5)}"
    if INFRA in want:
        ip = d.pos(INFRA, "private_ip_port", f"{private_ip(rng)}:{rng.choice([8080, 8000])}")
        msg = (
            f'Warning Unhealthy {pod} Liveness probe failed: Get "http://{ip}/healthz": '
            f"dial tcp {ip}: connect: connection refused"
        )
    else:
        image = d.neg("docker_digest", "ghcr.io/acme/chat-api@sha256:" + hexstr(rng, 64))
        node = f"gke-prod-pool-{hexstr(rng, 8)}-{rand(rng, 'abcdefghijklmnopqrstuvwxyz', 4)}"
        msg = rng.choice(
            [
                f'Normal Pulled {pod} Successfully pulled image "{image}" '
                f"in {rng.random() * 9:.3f}s",
                f"Normal Scheduled {pod} Successfully assigned llm/{pod[4:]} to {node}",
                f"Warning BackOff {pod} Back-off restarting failed container",
            ]
        )
    d.text = f"{d.iso()} {msg}"
    return [d]


def fam_usage(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    rec: JsonFrag = {
        "event": "usage",
        "ts": int(d.neg("epoch_s", fakes.epoch_s(rng))),
        "model": d.neg("model_name", rng.choice(fakes.MODEL_NAMES)),
        "prompt_tokens": rng.randint(1, 9000),
        "completion_tokens": rng.randint(1, 3000),
        "cost_usd": round(rng.random() / 10, 6),
        "organization": d.neg("openai_org", "org-" + rand(rng, ALNUM, 24)),
    }
    if PII in want:
        merge(rec, pii_json(d))
    merge(rec, _decoys_json(d, 0, 2))
    d.text = _dumps(d, rec)
    return [d]


MAIN_FAMILIES: tuple[Family, ...] = (
    Family("gateway_json", fam_gateway_json, ALL, 3.0),
    Family("nginx", fam_nginx, frozenset({SECRET, PII, INFRA}), 2.0),
    Family("uvicorn", fam_uvicorn, frozenset({SECRET, PII}), 1.0),
    Family("pylog", fam_pylog, ALL, 3.0),
    Family("logfmt", fam_logfmt, ALL, 1.5),
    Family("celery", fam_celery, ALL, 1.0),
    Family("chat_record", fam_chat_record, ALL, 3.0),
    Family("flat_chat", fam_flat_chat, ALL, 1.0),
    Family("config", fam_config, frozenset({SECRET, INFRA}), 0.5),
    Family("env_dump", fam_env_dump, frozenset({SECRET, INFRA}), 0.3),
    Family("traceback", fam_traceback, frozenset({INFRA, SECRET, PII}), 0.5),
    Family("exc_json", fam_exc_json, frozenset({INFRA, SECRET, PII}), 0.7),
    Family("sdk_error", fam_sdk_error, frozenset({SECRET, PII, INFRA}), 1.0),
    Family("k8s_event", fam_k8s, frozenset({INFRA}), 0.7),
    Family("usage", fam_usage, frozenset({PII}), 1.0),
)

# families that always carry a category; never chosen for a clean target
_ALWAYS = {"traceback": INFRA, "exc_json": INFRA, "env_dump": INFRA}


def _want(rng: random.Random, p_clean: float) -> frozenset[str]:
    if rng.random() < p_clean:
        return frozenset()
    cats = [SECRET, PII, CHAT, INFRA]
    first = rng.choices(cats, weights=[0.32, 0.24, 0.24, 0.20])[0]
    want = {first}
    if rng.random() < 0.22:
        want.add(rng.choice([c for c in cats if c != first]))
    return frozenset(want)


def _families(style: str) -> tuple[Family, ...]:
    if style == "main":
        return MAIN_FAMILIES
    if style == "heldout":
        from benchmarks.classify.heldout import HELDOUT_SPECS

        return tuple(Family(n, fn, sup, w) for n, fn, sup, w in HELDOUT_SPECS)
    raise ValueError(f"unknown style {style!r} (main, heldout)")


def generate(
    seed: int,
    *,
    lines: int | None = None,
    mb: float | None = None,
    style: str = "main",
    stats: Stats | None = None,
    p_clean: float | None = None,
) -> Iterator[LineRecord]:
    """Yield labelled lines until ``lines`` lines or ``mb`` megabytes (whichever is set;
    both may be). Deterministic for a given seed, size and style."""
    if lines is None and mb is None:
        raise ValueError("give lines or mb")
    families = _families(style)
    if p_clean is None:  # multi-line families add clean lines; aim at ~60% clean overall
        p_clean = {"main": 0.66, "heldout": 0.56}[style]
    rng = random.Random(f"leakmap-corpus/{style}/{seed}")
    clock = Clock(rng)
    st = stats if stats is not None else Stats()
    limit_bytes = int(mb * 1_000_000) if mb is not None else None
    while True:
        if lines is not None and st.lines >= lines:
            return
        if limit_bytes is not None and st.bytes >= limit_bytes:
            return
        want = _want(rng, p_clean)
        options = [
            f for f in families if want <= f.supports and not (not want and f.name in _ALWAYS)
        ]
        fam = rng.choices(options, weights=[f.weight for f in options])[0]
        for _attempt in range(50):
            drafts = fam.fn(Draft(rng, clock), want)
            problems = [v for dr in drafts for v in violations(dr.text, frozenset(dr.labels))]
            if not problems:
                break
            for p in problems:
                st.rejected[p] += 1
        else:  # pragma: no cover - would mean a broken family
            raise RuntimeError(f"family {fam.name} keeps producing mislabelled lines: {problems}")
        for dr in drafts:
            if lines is not None and st.lines >= lines:
                return
            text = dr.text
            if any(c in text for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"):
                raise RuntimeError(f"family {fam.name} produced a line break inside a line")
            rec = LineRecord(
                text=text,
                labels=frozenset(dr.labels),
                family=fam.name,
                kinds=tuple(dr.kinds),
                decoys=tuple(dr.decoys),
                unscored=frozenset(dr.unscored),
            )
            st.lines += 1
            st.bytes += len(text.encode("utf-8")) + 1
            st.per_family[fam.name] += 1
            for lab in rec.labels or {"(clean)"}:
                st.per_label[lab] += 1
            yield rec


def write_corpus(
    out: Path,
    labels: Path,
    *,
    seed: int,
    lines: int | None = None,
    mb: float | None = None,
    style: str = "main",
) -> Stats:
    """Write the text file and the labels file; return what was produced."""
    st = Stats()
    with (
        out.open("w", encoding="utf-8", newline="\n") as ft,
        labels.open("w", encoding="utf-8", newline="\n") as fl,
    ):
        for n, rec in enumerate(generate(seed, lines=lines, mb=mb, style=style, stats=st), 1):
            ft.write(rec.text + "\n")
            fl.write(json.dumps(rec.label_json(n)) + "\n")
    return st


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.classify.corpus", description=__doc__.split("\n\n")[0]
    )
    size = ap.add_argument_group("size (default: --mb 5)")
    size.add_argument("--lines", type=int, help="number of lines")
    size.add_argument("--mb", type=float, help="approximate size in megabytes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--style", choices=["main", "heldout"], default="main")
    ap.add_argument("--out", type=Path, required=True, help="log lines (what the tools scan)")
    ap.add_argument("--labels", type=Path, required=True, help="labels, one JSON object a line")
    args = ap.parse_args(argv)
    mb = args.mb if (args.mb is not None or args.lines is not None) else 5.0
    st = write_corpus(
        args.out, args.labels, seed=args.seed, lines=args.lines, mb=mb, style=args.style
    )
    print(st.summary(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
