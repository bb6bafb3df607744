"""The ``heldout`` corpus style: same categories and value generators, different surfaces.

Written separately from the main style so that rules tuned on the main corpus can be checked
for generalisation: other log formats (RFC 5424 syslog, Envoy access logs, log4j, ClickHouse
TSV exports of a ``log_stream`` table, OpenAI-SDK debug reprs, curl ``-v`` header dumps, CSV
exports, shell history, docker inspect, TOML, OpenTelemetry GenAI spans, LangChain debug,
Cohere / Ollama chat bodies), other field names and key embeddings (``x-api-key`` header
lines, tokens in git remote URLs, ``docker run -e``, ``.netrc``, camelCase JS config, Basic
auth), other infrastructure (``.lan``, ``.consul``, GCE and Azure internal DNS, Windows and
macOS paths, .NET / Ruby / PHP / Rust traces) and other hard negatives (ULIDs, Mongo object
ids, Stripe object ids, AWS X-Ray ids, snowflake ids, Bedrock model ids, ``process.env``
placeholders).

Each family has the :data:`benchmarks.classify.corpus.FamilyFn` signature and records what
it inserts on the :class:`~benchmarks.classify.atoms.Draft`, exactly like the main style.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from typing import Any

from benchmarks.classify import fakes
from benchmarks.classify.atoms import (
    Draft,
    JsonFrag,
    conn_string,
    jwt,
    pem_key,
    private_ip,
    provider_key,
    public_ip,
)
from benchmarks.classify.fakes import ALNUM, hexstr, rand, uuid4

__all__ = ["HELDOUT_SPECS"]

SECRET, PII, CHAT, INFRA = "secret", "pii", "chat", "infrastructure"
ALL = frozenset({SECRET, PII, CHAT, INFRA})
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# --------------------------------------------------------------------------- values

_APPS = ["assistant-svc", "promptd", "convo-store", "kb-search", "payments", "edge-proxy", "stt"]


def _host_internal(rng: random.Random) -> str:
    app = rng.choice(_APPS)
    k = rng.randrange(6)
    if k == 0:
        return f"{app}.service.consul"
    if k == 1:
        return f"{app}-{rng.randint(1, 9)}.lan"
    if k == 2:
        zone = rng.choice(["us-central1-a", "europe-west4-b"])
        return f"{app}-{rng.randint(1, 9)}.{zone}.c.{rng.choice(['acme-ml', 'chatprod'])}.internal"
    if k == 3:
        return f"{app}.{rng.choice(['intra', 'home.arpa'])}"
    if k == 4:
        return f"{app}.{rand(rng, 'abcdefghijklmnopqrstuvwxyz', 12)}.bx.internal.cloudapp.net"
    return f"{app}.{rng.choice(['prod', 'stage'])}.svc.cluster.local"


def _path(rng: random.Random) -> str:
    user = rng.choice(["alice", "bkumar", "jdoe", "runner"])
    app = rng.choice(_APPS)
    return rng.choice(
        [
            f"/mnt/data/{app}/exports/conversations-{rng.randint(1, 400)}.parquet",
            "/var/run/secrets/kubernetes.io/serviceaccount/token",
            f"/opt/conda/lib/python3.10/site-packages/{rng.choice(['langchain', 'trl'])}/x.py",
            f"/Users/{user}/dev/{app}/.env",
            f"C:\\inetpub\\{app}\\web.config",
            f"D:\\models\\{rng.choice(['llama', 'mistral'])}\\config.json",
            f"/workspace/{app}/checkpoints/step-{rng.randint(100, 9000)}",
            f"/var/www/html/{rng.choice(['index', 'api'])}.php",
        ]
    )


def _pii(d: Draft) -> tuple[str, str]:
    """A personal-data value; returns (kind, value) and records it."""
    rng = d.rng
    r = rng.random()
    if r < 0.4:
        return "email", d.pos(PII, "email", fakes.email(rng))
    if r < 0.65:
        p, region = fakes.phone(rng, national_ok=False)
        return "phone", d.pos(PII, f"phone_{region}", p)
    if r < 0.85:
        c, issuer = fakes.card(rng)
        return "card", d.pos(PII, f"card_{issuer}", c)
    i, country = fakes.iban(rng)
    return "iban", d.pos(PII, f"iban_{country}", i)


def _infra(d: Draft) -> str:
    rng = d.rng
    r = rng.random()
    if r < 0.4:
        h = _host_internal(rng)
        if rng.random() < 0.5:
            h += f":{rng.choice([8500, 9092, 5432, 6443, 7700])}"
        return d.pos(INFRA, "internal_host", h)
    if r < 0.65:
        return d.pos(INFRA, "private_ip_port", f"{private_ip(rng)}:{rng.randint(1025, 32000)}")
    return d.pos(INFRA, "server_path", _path(rng))


def _infra_addr(d: Draft) -> str:
    """An internal host:port or private ip:port (never a path)."""
    rng = d.rng
    if rng.random() < 0.5:
        h = f"{_host_internal(rng)}:{rng.choice([8500, 9092, 5432, 6443, 7700])}"
        return d.pos(INFRA, "internal_host", h)
    return d.pos(INFRA, "private_ip_port", f"{private_ip(rng)}:{rng.randint(1025, 32000)}")


def _secret(d: Draft) -> str:
    """One secret in a heldout-only surface form (a text fragment)."""
    rng = d.rng
    r = rng.random()
    if r < 0.6:
        p, t, host = provider_key(d)
        hname, hpre = p.header
        env = rng.choice(p.env)
        forms = [
            f"> {hname.lower()}: {hpre}{t}",
            f"docker run -e {env}={t} ghcr.io/acme/{rng.choice(_APPS)}:latest",
            f"{p.kind.split('_')[0]}Key: '{t}'",
            f'--header "{hname}: {hpre}{t}" https://{host}/',
            f"os.environ['{env}'] = '{t}'",
            f'$env:{env} = "{t}"',
        ]
        if p.needs_context:
            forms = [f for f in forms if p.kind.split("_")[0] in f or env in f or host in f]
        return rng.choice(forms)
    if r < 0.68:
        tok = provider_key(d)[1] if rng.random() < 0.3 else None
        cred = tok or rand(rng, ALNUM, 20)
        if tok is None:
            d.pos(SECRET, "git_url_token", cred)
        host = rng.choice(["github.com", "gitlab.com", "bitbucket.org"])
        return f"git remote set-url origin https://oauth2:{cred}@{host}/acme/prompts.git"
    if r < 0.74:
        user = rng.choice(["svc-llm", "admin", "grafana"])
        pw = rand(rng, ALNUM + "!#%", rng.randint(14, 24))
        d.pos(SECRET, "basic_auth", pw)
        b64 = base64.b64encode(f"{user}:{pw}".encode()).decode()
        return f"authorization: Basic {b64}"
    if r < 0.8:
        pw = rand(rng, ALNUM, rng.randint(16, 30))
        d.pos(SECRET, "netrc", pw)
        return f"machine api.{rng.choice(['heroku', 'acme-robotics'])}.com login ops password {pw}"
    if r < 0.86:
        return f"psql '{conn_string(d)}' -c 'select 1'"
    if r < 0.9:
        return f"id_token={jwt(d)}"
    if r < 0.94:
        return f"PRIVATE_KEY='{pem_key(d, escaped=True)}'"
    v = rand(rng, ALNUM + "-_", rng.randint(24, 44))
    d.pos(SECRET, "generic_assignment", v)
    key = rng.choice(["clientSecret", "signingSecret", "DB_PASS", "hmacKey", "admin_password"])
    return rng.choice([f"{key}={v}", f'{key}: "{v}"', f"{key} = '{v}'"])


def _decoy(d: Draft) -> str:
    """One heldout hard negative as a text fragment."""
    rng = d.rng
    k = rng.randrange(20)
    if k == 0:
        return d.neg("ulid", "trace=" + rng.choice("0123456") + rand(rng, CROCKFORD, 25))
    if k == 1:
        return d.neg("objectid", f"_id=ObjectId('{hexstr(rng, 24)}')")
    if k == 2:
        pre = rng.choice(["ch_3", "cus_", "pi_3", "sub_1", "in_1", "evt_1"])
        return d.neg("stripe_object_id", f"stripe_ref={pre}{rand(rng, ALNUM, 24)}")
    if k == 3:
        return d.neg("xray", f"X-Amzn-Trace-Id: Root=1-{hexstr(rng, 8)}-{hexstr(rng, 24)}")
    if k == 4:
        return d.neg("snowflake", f"discord_msg={fakes.safe_digits(rng, rng.choice([18, 19]))}")
    if k == 5:
        m = rng.choice(
            [
                "anthropic.claude-3-5-sonnet-20240620-v1:0",
                "accounts/fireworks/models/llama-v3p1-70b-instruct",
                "@cf/meta/llama-3-8b-instruct",
                "mistralai/Mixtral-8x22B-Instruct-v0.1",
                "models/text-embedding-004",
            ]
        )
        return d.neg("model_name", f"modelId={m}")
    if k == 6:
        ph = rng.choice(fakes.HELDOUT_PLACEHOLDERS)
        return d.neg("placeholder", f"apiKey: {ph}")
    if k == 7:
        return d.neg("sri", f'<link integrity="sha512-{fakes.b64_bytes(rng, 64)}" crossorigin>')
    if k == 8:
        return d.neg("etag", f'If-None-Match: W/"{hexstr(rng, 8)}-{rand(rng, ALNUM, 27)}"')
    if k == 9:
        audio = fakes.b64_bytes(rng, rng.randint(100, 600))
        return d.neg("base64_audio", f"audio=data:audio/wav;base64,UklGR{audio}")
    if k == 10:
        return d.neg("luhn_fail", f"order={fakes.decoy_card(rng)}")
    if k == 11:
        return d.neg("iban_fail", f"invalid account {fakes.decoy_iban(rng)}")
    if k == 12:
        return d.neg("epoch_ms", f"t={fakes.epoch_ms(rng)}")
    if k == 13:
        return d.neg("system_fingerprint", f"system_fingerprint=fp_{hexstr(rng, 10)}")
    if k == 14:
        return d.neg("sha256", f"sha256:{hexstr(rng, 64)}")
    if k == 15:
        return d.neg("public_ip", f"client={public_ip(rng)}")
    if k == 16:
        return d.neg("example_key", f"e.g. {rng.choice(fakes.EXAMPLE_KEYS)}")
    if k == 17:
        return d.neg("rbac_role", f"role=admin messages_count={rng.randint(1, 80)}")
    if k == 18:
        return d.neg("hex_color", f"theme=#{hexstr(rng, 6)} accent=#{hexstr(rng, 6)}")
    return d.neg("uuid", f"tenant={uuid4(rng).upper()}")


# --------------------------------------------------------------------------- chat content

_Q = [
    "my parcel from last week still hasn't arrived, what can I do",
    "is it safe to take ibuprofen with coffee",
    "translate 'see you tomorrow' into Korean",
    "why does my Rust borrow checker complain about this loop",
    "suggest a name for a bakery that sells only croissants",
    "how many vacation days do I get after two years",
    "rewrite this paragraph so it sounds less formal",
    "what's a good beginner telescope under 300 euros",
    "explain the offside rule in football",
    "draft a tweet announcing our new pricing",
    "how do I undo the last git commit without losing changes",
    "which plants survive in a north-facing window",
]
_A = [
    "Here are a few options you could try first.",
    "Short answer: it depends, but usually yes. Details below.",
    "I'd suggest starting with the simplest fix and checking the result.",
    "Sure - here's a rewritten version with a lighter tone.",
    "Great question. Let me walk you through it step by step.",
]


def _question(d: Draft, embed: str | None) -> str:
    rng = d.rng
    q = rng.choice(_Q)
    q = q[0].upper() + q[1:] + "?"
    if embed == PII:
        kind, v = _pii(d)
        q += {
            "email": f" my account is {v}",
            "phone": f" you can text me on {v}",
            "card": f" the charge was on {v}",
            "iban": f" refund goes to {v}",
        }[kind]
    elif embed == SECRET:
        _, t, _ = provider_key(d)
        q = f"this key stopped working: {t} - {q}"
    elif embed == INFRA:
        q = f"{q} (running on {_infra(d)})"
    return q


def _answer(d: Draft) -> str:
    return d.rng.choice(_A)


def _chat_body(d: Draft, embed: str | None) -> JsonFrag:
    rng = d.rng
    d.pos(CHAT, "record", "")
    q, a = _question(d, embed), _answer(d)
    k = rng.randrange(6)
    if k == 0:  # Cohere v1
        return {
            "message": q,
            "chat_history": [
                {"role": "USER", "message": "hi"},
                {"role": "CHATBOT", "message": "Hello! How can I help?"},
            ],
            "model": "command-r",
        }
    if k == 1:  # Ollama
        return {
            "model": "llama3.1:8b",
            "created_at": d.iso(),
            "message": {"role": "assistant", "content": a if not embed else q},
            "done": True,
        }
    if k == 2:  # OpenTelemetry GenAI span attributes
        return {
            "name": "chat " + rng.choice(["gpt-4o", "claude-3-haiku"]),
            "attributes": {
                "gen_ai.system": rng.choice(["openai", "anthropic"]),
                "gen_ai.prompt.0.role": "user",
                "gen_ai.prompt.0.content": q,
                "gen_ai.completion.0.role": "assistant",
                "gen_ai.completion.0.content": a,
            },
        }
    if k == 3:  # OpenInference
        return {
            "llm.input_messages": [{"message.role": "user", "message.content": q}],
            "llm.output_messages": [{"message.role": "assistant", "message.content": a}],
        }
    if k == 4:  # Bedrock converse
        return {
            "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
            "messages": [{"role": "user", "content": [{"text": q}]}],
        }
    return {"question": q, "answer": a, "history_len": rng.randint(0, 9)}


def _chat_line(d: Draft, embed: str | None) -> str:
    rng = d.rng
    d.pos(CHAT, "flattened", "")
    q, a = _question(d, embed), _answer(d)
    return rng.choice(
        [
            f"Human: {q}\\nAI: {a}",
            f"[llm/start] Entering LLM run with input: {json.dumps({'prompts': ['Human: ' + q]})}",
            f">>> {q} <<< {a}",
            f"Q: {q} A: {a}",
            f"### Instruction: {q} ### Response: {a}",
        ]
    )


# --------------------------------------------------------------------------- helpers


def _split(d: Draft, want: frozenset[str]) -> tuple[str | None, frozenset[str]]:
    others = sorted(want - {CHAT})
    if CHAT in want and others and d.rng.random() < 0.5:
        e = d.rng.choice(others)
        return e, want - {e}
    return None, want


def _fragments(d: Draft, want: frozenset[str], *, chat_as_json: bool) -> list[str]:
    embed, rest = _split(d, want)
    parts: list[str] = []
    for cat in sorted(rest):
        if cat == SECRET:
            parts.append(_secret(d))
        elif cat == PII:
            kind, v = _pii(d)
            parts.append(
                {
                    "email": f"mailto:{v}",
                    "phone": f"tel:{v.replace(' ', '-')}",
                    "card": f"pan={v}",
                    "iban": f"creditor_account={v}",
                }[kind]
            )
        elif cat == INFRA:
            parts.append(
                d.rng.choice(["listening on ", "peer=", "mounted ", "fallback to "]) + _infra(d)
            )
        else:
            parts.append(json.dumps(_chat_body(d, embed)) if chat_as_json else _chat_line(d, embed))
    parts += [_decoy(d) for _ in range(d.rng.randint(0, 2))]
    d.rng.shuffle(parts)
    return parts


def _syslog_ts(d: Draft) -> str:
    return d.iso()


# --------------------------------------------------------------------------- families


def fam_syslog(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    parts = _fragments(d, want, chat_as_json=False)
    app = rng.choice(_APPS)
    msg = rng.choice(["handled", "relay ok", "slow upstream", "retry scheduled", "audit"])
    d.text = (
        f"<{rng.choice([134, 131, 12, 14])}>1 {_syslog_ts(d)} {rng.choice(['web', 'node', 'gpu'])}"
        f"{rng.randint(1, 40):02d} {app} {rng.randint(100, 60000)} - - {msg}; " + "; ".join(parts)
    )
    return [d]


def fam_envoy(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    q = ""
    if SECRET in want:
        p, t, _host = provider_key(d)
        q = f"?{rng.choice(['key', 'auth', 'apikey'])}={t}" + (
            f"&provider={p.kind.split('_')[0]}" if p.needs_context else ""
        )
    if PII in want:
        kind, v = _pii(d)
        q += ("&" if q else "?") + f"{kind}={v.replace(' ', '')}"
    upstream = _infra_addr(d) if INFRA in want else rng.choice(["-", f"{public_ip(rng)}:443"])
    if INFRA not in want and upstream != "-":
        d.neg("public_ip_port", upstream)
    path = rng.choice(["/v1/chat/completions", "/v2/chat", "/api/generate", "/v1/rerank"])
    d.text = (
        f'[{d.iso()}] "{rng.choice(["POST", "GET"])} {path}{q} HTTP/2" '
        f'{rng.choice([200, 200, 429, 503])} - via_upstream - "-" {rng.randint(100, 9000)} '
        f'{rng.randint(100, 90000)} {rng.randint(1, 30000)} - "{public_ip(rng)}" '
        f'"{rng.choice(["ai-sdk/3.2", "undici", "LangChain"])}" "{uuid4(rng)}" '
        f'"{rng.choice(["llm.acme.dev", "chat.globex.com"])}" "{upstream}"'
    )
    d.neg("uuid", "")
    return [d]


def fam_log4j(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    parts = _fragments(d, want, chat_as_json=rng.random() < 0.5)
    cls = rng.choice(["c.a.chat.LlmClient", "c.a.gw.RateLimiter", "o.s.web.DispatcherServlet"])
    t = d.pyts().replace(",", ".")
    d.text = (
        f"{t} [http-nio-8080-exec-{rng.randint(1, 40)}] {rng.choice(['INFO ', 'WARN ', 'DEBUG'])} "
        f"{cls} - {rng.choice(['completed', 'dispatch', 'upstream'])} " + " ".join(parts)
    )
    return [d]


def fam_tsv(d: Draft, want: frozenset[str]) -> list[Draft]:
    """Rows of a ClickHouse ``log_stream`` table exported as TSV."""
    rng = d.rng
    cols = [d.pyts()[:19], uuid4(rng)]
    d.neg("uuid", "")
    embed, rest = _split(d, want)
    if CHAT in want:
        d.pos(CHAT, "tsv_row", "")
        role = rng.choice(["user", "assistant"])
        text = _question(d, embed) if role == "user" else _answer(d)
        cols += [role, text.replace("\t", " ")]
    else:
        cols += [
            rng.choice(["api_request", "billing", "health"]),
            rng.choice(["ok", "timeout", "429 from upstream"]),
        ]
    extra = [f for c in sorted(rest - {CHAT}) for f in [_tsv_extra(d, c)]]
    extra += [_decoy(d) for _ in range(rng.randint(0, 1))]
    cols.append(" ".join(extra) if extra else "\\N")
    d.text = "\t".join(cols)
    return [d]


def _tsv_extra(d: Draft, cat: str) -> str:
    if cat == SECRET:
        return _secret(d)
    if cat == PII:
        return _pii(d)[1]
    return _infra(d)


def fam_sdk_repr(d: Draft, want: frozenset[str]) -> list[Draft]:
    """OpenAI/Anthropic SDK debug output: a Python repr of the request options."""
    rng = d.rng
    opts: dict[str, Any] = {
        "method": "post",
        "url": rng.choice(["/chat/completions", "/messages", "/embeddings"]),
        "files": None,
    }
    headers: dict[str, str] = {"X-Stainless-Retry-Count": str(rng.randint(0, 3))}
    if SECRET in want:
        p, t, host = provider_key(d)
        hname, hpre = p.header
        headers[hname] = hpre + t
        if p.needs_context:
            opts["base_url"] = f"https://{host}"
    else:
        headers["Authorization"] = d.neg("masked_key", "Bearer sk-...")[:13]
    opts["headers"] = headers
    embed, rest = _split(d, want)
    if CHAT in want:
        d.pos(CHAT, "sdk_repr", "")
        opts["json_data"] = {
            "messages": [{"role": "user", "content": _question(d, embed)}],
            "model": rng.choice(fakes.MODEL_NAMES),
        }
    else:
        opts["json_data"] = {"input": ["doc-" + str(rng.randint(1, 999))], "model": "embed-v3"}
    if PII in rest:
        opts["user"] = _pii(d)[1]
    if INFRA in rest:
        opts["proxy"] = "http://" + _infra_addr(d)
    logger = rng.choice(["openai._base_client", "anthropic._base_client"])
    d.text = f"DEBUG:{logger}:Request options: {opts!r}"
    return [d]


def fam_curl_v(d: Draft, want: frozenset[str]) -> list[Draft]:
    """A ``curl -v`` exchange, one header a line."""
    rng = d.rng
    host = rng.choice(["api.openai.com", "api.anthropic.com", "api.mistral.ai"])
    ip = public_ip(rng)
    d.text = f"*   Trying {d.neg('public_ip', ip)}:443..."
    out = [d]

    def add(fn: Callable[[Draft], str]) -> None:
        c = d.child()
        c.text = fn(c)
        out.append(c)

    add(lambda x: f"> POST /v1/{rng.choice(['chat/completions', 'messages'])} HTTP/2")
    add(lambda x: f"> Host: {host}")
    if SECRET in want:

        def sec(x: Draft) -> str:
            p, t, phost = provider_key(x)
            hname, hpre = p.header
            line = f"> {hname}: {hpre}{t}"
            if p.needs_context:
                line += f"  (via {phost})"
            return line

        add(sec)
    else:
        add(lambda x: "> authorization: Bearer " + x.neg("placeholder", "$OPENAI_API_KEY"))
    add(lambda x: "> content-type: application/json")
    if PII in want:
        add(lambda x: f"> x-user-email: {x.pos(PII, 'email', fakes.email(rng))}")
    add(lambda x: f"< HTTP/2 {rng.choice([200, 401, 429])}")
    add(lambda x: f"< x-request-id: {x.neg('openai_req_id', 'req_' + hexstr(rng, 32))}")
    if INFRA in want:
        add(lambda x: f"< x-served-by: {_infra(x)}")
    add(lambda x: f"< openai-processing-ms: {rng.randint(40, 9000)}")
    return out


def fam_csv(d: Draft, want: frozenset[str]) -> list[Draft]:
    """A CSV export of conversations (id, created_at, user, prompt, response, note)."""
    rng = d.rng
    row = [str(rng.randint(1000, 999999)), d.iso()]
    embed, rest = _split(d, want)
    row.append(_pii(d)[1] if PII in rest else d.neg("uuid", uuid4(rng)))
    if CHAT in want:
        d.pos(CHAT, "csv_row", "")
        row += [_question(d, embed), _answer(d)]
    else:
        row += ["", ""]
    note = []
    if SECRET in rest:
        note.append(_secret(d))
    if INFRA in rest:
        note.append(_infra(d))
    note += [_decoy(d) for _ in range(rng.randint(0, 1))]
    row.append(" ".join(note))
    d.text = ",".join(json.dumps(c) if ("," in c or " " in c or '"' in c) else c for c in row)
    return [d]


def fam_shell(d: Draft, want: frozenset[str]) -> list[Draft]:
    """Shell history / CI step output."""
    rng = d.rng
    parts: list[str] = []
    if SECRET in want:
        parts.append(_secret(d))
    if INFRA in want:
        parts.append(
            rng.choice(
                [
                    f"ssh -p 2222 deploy@{_host_internal(rng)}",
                    f"scp model.bin {_host_internal(rng)}:/srv/models/",
                    f"curl -s http://{private_ip(rng)}:{rng.choice([8080, 9090])}/healthz",
                    f"cd {_path(rng).rsplit('/', 1)[0] or '/srv'}",
                ]
            )
        )
        d.pos(INFRA, "shell", "")
    if PII in want:
        parts.append(f"git config user.email {d.pos(PII, 'email', fakes.email(rng))}")
    if CHAT in want:
        parts.append(f"llm -m gpt-4o '{_question(d, None)}'")
        d.pos(CHAT, "cli_prompt", "")
    if not parts:
        parts.append(
            rng.choice(
                [
                    "pip install -U openai==1.51.2",
                    f"docker pull ghcr.io/acme/{rng.choice(_APPS)}@sha256:{hexstr(rng, 64)}",
                    "kubectl rollout status deploy/assistant-svc",
                    "make test",
                ]
            )
        )
    parts += [f"# {_decoy(d)}" for _ in range(rng.randint(0, 1))]
    d.text = f"$ {' && '.join(parts)}"
    return [d]


def fam_docker_inspect(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    env = [
        "LANG=C.UTF-8",
        f"APP_VERSION={rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
        f"MODEL_ID={d.neg('model_name', rng.choice(fakes.MODEL_NAMES))}",
    ]
    if SECRET in want:
        p, t, _host = provider_key(d)
        env.append(f"{rng.choice(p.env)}={t}")
    else:
        env.append(f"OPENAI_API_KEY={d.neg('placeholder', '')}")
    if INFRA in want:
        env.append(f"UPSTREAM={_infra(d)}")
    else:
        d.unscore(INFRA)  # an environment dump that happens to hold nothing revealing
    rec: JsonFrag = {"Id": hexstr(rng, 64), "Config": {"Env": env, "User": "1000"}}
    d.neg("sha256", "")
    if PII in want:
        rec["Config"]["Labels"] = {"maintainer": d.pos(PII, "email", fakes.email(rng))}
    if CHAT in want:
        rec["LastPrompt"] = _chat_body(d, None)
    d.text = json.dumps(rec)
    return [d]


def fam_toml(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    d.text = f"[providers.{rng.choice(['openai', 'anthropic', 'mistral'])}]"
    out = [d]
    rows: list[Callable[[Draft], str]] = [
        lambda x: f'model = "{x.neg("model_name", rng.choice(fakes.MODEL_NAMES))}"',
        lambda x: f"timeout_s = {rng.choice([15, 30, 90])}",
        lambda x: 'api_key = "' + x.neg("placeholder", "${env:LLM_KEY}") + '"',
    ]
    if SECRET in want:

        def sec(x: Draft) -> str:
            _, t, _ = provider_key(x)
            return f'{rng.choice(["api_key", "token", "secret"])} = "{t}"'

        rows.insert(rng.randint(0, len(rows)), sec)
    if INFRA in want:
        rows.insert(rng.randint(0, len(rows)), lambda x: f'endpoint = "http://{_infra_addr(x)}"')
    for fn in rows:
        c = d.child()
        c.text = fn(c)
        out.append(c)
    return out


def fam_exc_other(d: Draft, want: frozenset[str]) -> list[Draft]:
    """.NET / Ruby / PHP / Rust traces, one frame a line."""
    rng = d.rng
    lang = rng.choice(["dotnet", "ruby", "php", "rust"])
    head = {
        "dotnet": "Unhandled exception. System.Net.Http.HttpRequestException: Response status code "
        "does not indicate success: 429",
        "ruby": "Faraday::TooManyRequestsError (the server responded with status 429)",
        "php": "PHP Fatal error:  Uncaught GuzzleHttp\\Exception\\ClientException: "
        "401 Unauthorized",
        "rust": "thread 'tokio-runtime-worker' panicked at 'called `Result::unwrap()` on an `Err`'",
    }[lang]
    extra = ""
    if SECRET in want:
        extra = " " + _secret(d)
    if PII in want:
        extra += " user " + _pii(d)[1]
    d.text = head + extra
    out = [d]
    for i in range(rng.randint(2, 4)):
        c = d.child()
        if lang == "dotnet":
            c.text = "   at " + c.pos(
                INFRA,
                "trace_frame",
                f"Acme.Chat.{rng.choice(['Client', 'Relay'])}.SendAsync() in "
                f"C:\\build\\src\\{rng.choice(['Client', 'Relay'])}.cs:line {rng.randint(10, 800)}",
            )
        elif lang == "ruby":
            c.text = c.pos(
                INFRA,
                "trace_frame",
                f"/app/lib/{rng.choice(['llm', 'relay'])}.rb:{rng.randint(5, 400)}:in `call'",
            )
        elif lang == "php":
            c.text = c.pos(
                INFRA,
                "trace_frame",
                f"#{i} /var/www/html/src/{rng.choice(['Chat', 'Api'])}.php({rng.randint(5, 400)}): "
                "GuzzleHttp\\Client->request()",
            )
        else:
            c.text = f"   {i}: acme_gateway::relay::forward"
            c.unscore(INFRA)
        out.append(c)
    return out


def fam_langchain(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    if CHAT in want:
        embed, rest = _split(d, want)
        body = _chat_line(d, embed)
    else:
        rest = want
        body = rng.choice(
            [
                "[chain/end] [1:chain:RetrievalQA] [2.31s] Exiting Chain run",
                f'[tool/start] Entering Tool run with input: "{rng.choice(["weather", "search"])}"',
                f"[llm/end] token_usage={{'total_tokens': {rng.randint(10, 9000)}}}",
            ]
        )
    extra = [
        _secret(d) if c == SECRET else (_pii(d)[1] if c == PII else _infra(d))
        for c in sorted(rest - {CHAT})
    ]
    extra += [_decoy(d) for _ in range(rng.randint(0, 1))]
    d.text = body + (" | " + " | ".join(extra) if extra else "")
    return [d]


def fam_otel_json(d: Draft, want: frozenset[str]) -> list[Draft]:
    rng = d.rng
    embed, rest = _split(d, want)
    span: JsonFrag = {
        "traceId": hexstr(rng, 32),
        "spanId": hexstr(rng, 16),
        "durationNano": rng.randint(10**6, 10**10),
        "resource": {"service.name": rng.choice(_APPS), "service.version": "2.4.1"},
    }
    d.neg("trace_id", "")
    if CHAT in want:
        span["attributes"] = _chat_body(d, embed)
    else:
        span["attributes"] = {
            "http.status_code": rng.choice([200, 429]),
            "gen_ai.usage.input_tokens": rng.randint(1, 9000),
        }
    if SECRET in rest:
        span["attributes"]["http.request.header.authorization"] = _secret(d)
    if PII in rest:
        span["attributes"]["enduser.id"] = _pii(d)[1]
    if INFRA in rest:
        span["attributes"]["net.peer.name"] = _infra(d)
    if rng.random() < 0.5:
        span["attributes"]["note"] = _decoy(d)
    d.text = json.dumps(span)
    return [d]


FamilyFn = Callable[[Draft, frozenset[str]], list[Draft]]

# (name, function, categories it can host, weight)
HELDOUT_SPECS: tuple[tuple[str, FamilyFn, frozenset[str], float], ...] = (
    ("syslog", fam_syslog, ALL, 2.0),
    ("envoy", fam_envoy, frozenset({SECRET, PII, INFRA}), 1.5),
    ("log4j", fam_log4j, ALL, 2.0),
    ("tsv_log_stream", fam_tsv, ALL, 2.0),
    ("sdk_repr", fam_sdk_repr, ALL, 1.5),
    ("curl_v", fam_curl_v, frozenset({SECRET, PII, INFRA}), 0.4),
    ("csv_export", fam_csv, ALL, 1.0),
    ("shell", fam_shell, ALL, 1.0),
    ("docker_inspect", fam_docker_inspect, ALL, 0.8),
    ("toml", fam_toml, frozenset({SECRET, INFRA}), 0.5),
    ("trace_other", fam_exc_other, frozenset({INFRA, SECRET, PII}), 0.5),
    ("langchain", fam_langchain, ALL, 1.0),
    ("otel_span", fam_otel_json, ALL, 1.5),
)
