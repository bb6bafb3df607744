"""Hard negatives: lines that look like secrets, personal data or infrastructure details
to a naive scanner but are not findings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import string
import uuid

import pytest

from leakmap.classify import Classifier

_RNG = random.Random(20250129)
_UUID = str(uuid.UUID(int=_RNG.getrandbits(128), version=4))
_MD5 = hashlib.md5(b"a", usedforsecurity=False).hexdigest()
_SHA1 = hashlib.sha1(b"b", usedforsecurity=False).hexdigest()
_SHA256 = hashlib.sha256(b"c").hexdigest()
_SRI = "sha384-" + base64.b64encode(hashlib.sha384(b"d").digest()).decode()
_PNG = base64.b64encode(bytes(_RNG.getrandbits(8) for _ in range(600))).decode()
_HEX32 = f"{_RNG.getrandbits(128):032x}"
_HEX16 = f"{_RNG.getrandbits(64):016x}"

HARD_NEGATIVES = [
    # identifiers and digests
    f"request_id={_UUID} status=200",
    f'{{"id": "{_UUID}", "trace_id": "{_HEX32}", "span_id": "{_HEX16}"}}',
    f"traceparent: 00-{_HEX32}-{_HEX16}-01",
    f"md5={_MD5} sha1={_SHA1} sha256={_SHA256}",
    f'{{"etag": "\\"{_MD5}\\"", "digest": "sha256:{_SHA256}"}}',
    f"commit {_SHA1} Merge pull request #42 from acme/fix",
    f"https://github.com/acme/api/commit/{_SHA1}",
    f'<script src="app.js" integrity="{_SRI}" crossorigin="anonymous"></script>',
    f"image: ghcr.io/acme/api@sha256:{_SHA256}",
    '{"id": "chatcmpl-9xYzAbCdEfGhIjKlMnOpQrStUv", "object": "chat.completion"}',
    '{"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message"}',
    "x-request-id: req_8f3a1c2b9d7e4f60a1b2c3d4e5f6a7b8",
    # placeholders and documented examples
    "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "OPENAI_API_KEY=sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    'api_key: "your-api-key"',
    "api_key=YOUR_API_KEY_HERE",
    "token=${GITHUB_TOKEN}",
    "password: {{ .Values.db.password }}",
    "secret=<redacted> password=****** token=[REDACTED]",
    '"api_key": "<your key>"',
    "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "password=changeme",
    "Authorization: Bearer <token>",
    # numbers that are not cards, phones or SSNs
    "card 4111 1111 1111 1112 declined",
    "order 1234567812345678 shipped",
    "ts=1706745600 ts_ms=1706745600123",
    '{"created": 1706745600, "latency_ms": 1234.5678901234}',
    "2025-01-29T10:11:12.123456+00:00 INFO started",
    "build 20250129.1 version 10.2.3.4 v1.22.0",
    "phone 12345",
    # images and blobs
    f'{{"image": "data:image/png;base64,{_PNG}"}}',
    f'{{"embedding": "{_PNG[:200]}"}}',
    # model names and usage counters
    '{"model": "gpt-4o-mini", "max_tokens": 512, "temperature": 0.2}',
    "model=claude-3-5-sonnet-20241022 model=deepseek-chat model=deepseek-reasoner",
    "models/gemini-1.5-pro-002 meta-llama/Llama-3.1-8B-Instruct mistral-large-2411",
    '{"usage": {"prompt_tokens": 12, "completion_tokens": 34, "total_tokens": 46}}',
    '{"token_type": "bearer", "expires_in": 3600}',
    # public addresses, public names, URL paths
    "resolved api.openai.com to 104.18.7.192 via 8.8.8.8:53",
    "GET /v1/chat/completions HTTP/1.1 200",
    "https://example.com/etc/passwd?download=1",
    "see https://docs.python.org/3/library/re.html",
    "listening on 0.0.0.0:8080",
    # publishable / public keys
    "STRIPE_PUBLISHABLE_KEY=pk_live_51H8xYzAbCdEfGhIjKlMnOpQr",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host",
    # everyday prose
    "The assistant replied that the token limit was reached.",
    "user: bob logged in",
    "Please reset the password via the settings page.",
    # issue 3 evaluation: status lines under speaker labels, app settings, ids near azure
    "assistant: started",
    "AI: enabled",
    "model: gpt-4o",
    "agent: worker-3 ready",
    "MAX_TOKENS=4096 PASSWORD_MIN_LENGTH=8 STREAM=true WORKERS=13 TOKENIZER=cl100k_base",
    "NODE_ENV=production LANG=C.UTF-8 TERM=xterm LOG_LEVEL=info",
    f"azure openai call rid={_HEX32} ja3={_HEX32}",
    "dsn=postgresql://reader:%2A%2A%2A@db.acme.dev:5432/rag",
    "iban PL91 0483 2264 5435 7855 6637 9379 rejected",
    "order 12 shipped. Next batch at 10.1.2.3:80.5 units",
    "ssh host key fingerprint=SHA256:0rurDsaAbr642lvbni4Z03QDRU0zvIcOZv35t6H0djo",
    "host key MD5:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99",
]


# Real-code shapes (issue 13): values that a field-name rule sees but that are code,
# examples that say what they are, fields that say they are fake, abridged PEM blocks.
_ALNUM = string.ascii_letters + string.digits
_B64 = _ALNUM + "+/"


def _rand(alphabet: str, n: int) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def _jwt(claims: dict[str, object], key: bytes) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = part(json.dumps(claims).encode())
    sig = hmac.new(key, f"{head}.{body}".encode(), "sha256").digest()
    return f"{head}.{body}.{part(sig)}"


_CLAIMS = {"user": _rand(_ALNUM, 8), "iat": 1700000000 + _RNG.randrange(10**7)}
_RANDOM_KEY = bytes(_RNG.getrandbits(8) for _ in range(32))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


_HEX16B = f"{_RNG.getrandbits(64):016x}"
_DER_HEAD = "MIIEpAIBAAKCAQEA"  # SEQUENCE of 1192 bytes, as every 2048-bit RSA key starts
_CUT_KEY = f"-----BEGIN RSA PRIVATE KEY-----\\n{_DER_HEAD}{_rand(_B64, 80)}"  # no END: cut off

REAL_CODE_NEGATIVES = [
    # test-suite logs (DejaGnu, automake): a status word, then the test file's relative path
    "PASS: gdb.ada/assign_1.exp: set convenience variable $xxx to 1",
    "PASS: gdb.base/break-main-file-remove-fail.exp: cmd=delete: delete breakpoint",
    # optional chaining in bundled JavaScript: a reference, not a value
    'let credentials = (req instanceof Request ? req.credentials : init2?.credentials) ?? "x";',
    "t.credentials=e?.auth?.credentials,t.mode=n",
    # a dunder sentinel
    'password = "__generate__"',
    # examples that spell what they are, through leetspeak or URL encoding
    'responses: (?i)password: "MySekretPa$$word"',
    'conn = connect(user="app", password="s3cre3t!")',
    'assert url == "https://jo%40example.com:a%20secret@www.example.com"',
    "passphrase=Sup3rS3cr3tPassw0rd",
    # numbered example users and passwords
    'proxy_url = "http://user1:pass1@127.0.0.1:3128"',
    "amqp://guest2:guest2@rabbit.internal:5672/",
    # fields named fake, dummy, mock, example or sample (generic rules only)
    f'FAKE_AUTH_KEY = "{_HEX16B}"',
    f'{{"dummy_token": "{_rand(_ALNUM, 24)}"}}',
    f'mock_password = "{_rand(_ALNUM, 10)}#7"',
    f"exampleApiKey: {_rand(_ALNUM, 32)}",
    # ARNs with wildcards name resources
    '"Resource":"arn:*:secretsmanager:*:*:secret:eks-local.cluster.x-k8s.io/*"',
    '"secretsmanager:SecretId":"arn:*:secretsmanager:*:*:secret:AmazonMSK_*"',
    # an upper-case UUID is an id like a lower-case one
    f'"x-auth-token": "{_UUID.upper()}",',
    # PEM blocks abridged in documentation
    "For example, `-----BEGIN RSA PRIVATE KEY----- "
    f"{_DER_HEAD}{_rand(_B64, 48)}. -----END RSA PRIVATE KEY-----`",
    "e.g. `-----BEGIN RSA PRIVATE KEY-----"
    f"{_DER_HEAD}{_rand(_B64, 48)}\\\\n.-----END RSA PRIVATE KEY-----`",
    'private_key = "-----BEGIN RSA PRIVATE KEY-----\\nfoobar==\\n-----END RSA PRIVATE KEY-----"',
    f"-----BEGIN RSA PRIVATE KEY-----\n{_DER_HEAD}{_rand(_B64, 48)}\n-----END RSA PRIVATE KEY-----",
    # JWTs from documentation: signed with a documented key, or jwt.io's claims
    f'token = jwt.encode(payload, "secret")  # {_jwt(_CLAIMS, b"secret")}',
    f"Authorization: Bearer {_jwt(_CLAIMS, b'your-256-bit-secret')}",
    f"id_token={_jwt({'sub': '1234567890', 'name': 'John Doe', 'iat': 1516239022}, _RANDOM_KEY)}",
    # a registry auth that decodes to an example pair
    f'{{"auths": {{"registry.example.com": {{"auth": "{_b64("admin:admin123")}"}}}}}}',
    # values typed along the keyboard's sequences
    "api_key = 'abcd1234efgh5678'",
    'password: "Abcd1234!"',
    # the storage emulator's documented account and key
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    f"AccountKey={_rand(_ALNUM, 86)}==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
    # minified JavaScript: booleans, object-literal members, negations, concatenations
    "n.shelljs={target:!1,echo:!1,cd:!1,pwd:!1,ls:!1,find:!1}",
    "kx={MIN_KNOWN_PASS:0,ACTOR_PASS:0,COMPOSITE_INDEX_PASS:1,ID_LOW24:2,ID_HIGH24:3}",
    "const exclamationToken = !questionToken && !scanner.hasPrecedingLineBreak();",
    'var token = letter+texcommand+"\\d+|[-()]"',
    '{token:"constant.datatype!",regex:"(?:datatype|unset)"}',
    # a variable under a quoted key
    "uniforms = {'u_opacity': Uniform1f, 'u_ao_pass': Uniform1f}",
    # the rest of a query string after a placeholder
    'access_token_body = "access_token=foobar&expires=0"',
    # a README badge's token (published with the image)
    "[![cov](https://codecov.io/gh/acme/p/graph/badge.svg?token="
    + "{0}{1}{6}{7}{2}{8}{3}{4}{5}{9}".format(
        *_RNG.sample(string.ascii_uppercase, 6), *_RNG.sample(string.digits, 4)
    )
    + ")]",
    # values that mark themselves as examples: AWS's pages end them with ``example`` or
    # put EXAMPLE/SAMPLE inside (also inside a private key's base64)
    f'"SessionToken": "{_rand(_ALNUM, 30)}example",',
    f"api_key={_rand(_ALNUM, 12)}SAMPLE{_rand(_ALNUM, 12)}",
    '"privateKey": "-----BEGIN RSA PRIVATE KEY-----\\nEXAMPLE'
    + "\\n".join(_rand(_B64, 64) for _ in range(4))
    + '\\n-----END RSA PRIVATE KEY-----"',
    # the OAuth RFCs' example credentials (RFC 6749, 6750, 7009, 5849)
    '"access_token":"2YotnFZFEjr1zCsicMWpAA",',
    "grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA",
    "Authorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW",
    "oauth_token=nnch734d00sl2jdk&oauth_token_secret=pfkkdhi9sl3r4s00&",
    "grant_type=password&username=johndoe&password=A3ddj3w",
    "token=45ghiukldjahdnhzdauz&token_type_hint=refresh_token",
    # position, idempotency and handle tokens are not credentials
    f'"nextForwardToken": "f/{_rand(string.digits, 56)}",',
    f'"ClientToken": "{_rand(_ALNUM, 40)}",',
    f'"IdempotencyToken": "{_rand(_ALNUM, 32)}",',
    f'"PolicyUpdateToken": "1:{_rand(_B64, 22)}==",',
    f'"NodeAssociationStatusToken": "{_rand(_B64, 60)}"',
    # a command-line flag given a constant's name, or an example password that spells it
    "aws cognito-idp delete-user --access-token ACCESS_TOKEN",
    "--password Pass@Word1 \\",
    # an image address without a file extension (a badge service)
    '<img src="https://img.shields.io/codecov/c/github/acme/p?logo=codecov&style=flat&token='
    + _rand(_ALNUM, 24)
    + '" alt="cov">',
    # the secret half of a pair whose key id is a marked example
    '--credential "AccessKeyId=ABCDE12345670EXAMPLE, RawSecretAccessKey=' + _rand(_B64, 43) + '="',
    # AWS's interleaved example runs
    '"token": "a1b2c3d4567890ab",',
    # minified JavaScript: an indexed operand, a post-increment
    'w.auth&&(f=w.auth.split(":"),w.username=f[0]||"",w.password=f[1]||""),host=w.hostname',
    "var token = globalCleanupTokensCounter++;",
    # an emphasised word in a docstring
    ":param passwd: **DEPRECATED** Alias for password.",
    # one line of a wrapped base64 certificate body after the word key
    "<keyMaterial>---- BEGIN RSA PRIVATE KEY ----\n"
    f"MIIC{_rand(_ALNUM, 60)}\n{_rand(_ALNUM, 64)}\n{_rand(_ALNUM, 30)}==",
]


@pytest.mark.parametrize("line", REAL_CODE_NEGATIVES)
def test_real_code_negative(clf: Classifier, line: str) -> None:
    found = [(m.rule, line[m.start : m.end]) for m in clf.scan(line) if m.category == "secret"]
    assert found == [], f"unexpected findings in {line!r}: {found}"


def _pem(body: str, label: str = "RSA PRIVATE KEY", nl: str = "\n") -> str:
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return nl.join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


_KEY_BYTES = base64.b64encode(bytes(_RNG.getrandbits(8) for _ in range(1170))).decode()

# (rule, line, value): the same shapes with a machine-made secret are still found, in test
# code too (a random secret in a test file is a secret).
REAL_CODE_POSITIVES = [
    ("secret.generic.password", 'client.login(password="{v}")', _rand(_ALNUM, 14) + "#1"),
    ("secret.generic.password", "admin_pass='{v}',", "Kx8mQ2vLp7Rz" + _rand(_ALNUM, 4) + "!"),
    ("secret.generic.password", 'password: "{v}"', "Tr0ub4dor&3" + _rand(_ALNUM, 3)),
    ("secret.generic.password", 'password: "{v}"', "!Summer2024" + _rand(_ALNUM, 2)),
    # a slash in a password is not a path: only dir/file.ext is
    ("secret.generic.password", "PASS: {v}", _rand(_ALNUM, 5) + "/" + _rand(_ALNUM, 6) + "#7"),
    ("secret.generic.password", "db_pass: {v}", "Xk3/9fQ" + _rand(_ALNUM, 5) + ".k8"),
    ("secret.generic.password", "{{'u_ao_pass': '{v}'}}", _rand(_ALNUM, 12) + "!"),
    ("secret.generic.password", '{{"password": {v}}}', _rand(_ALNUM, 12) + "#"),
    ("secret.generic.assignment", "/cb?access_token={v}&expires=3600", _rand(_ALNUM, 32)),
    (
        "secret.generic.password",
        'password="{v}"',
        f"eUw_{_rand(_ALNUM, 2)}&13b8=8{_rand(_ALNUM, 7)}",
    ),
    ("secret.generic.assignment", 'AUTH_KEY = "{v}"', _rand(_ALNUM, 32)),
    ("secret.generic.json-field", '{{"x-auth-token": "{v}"}}', _rand(_ALNUM, 40)),
    ("secret.github.classic-pat", 'fake_token = "{v}"', "ghp_" + _rand(_ALNUM, 36)),
    ("secret.url.password", "https://deploy1:{v}@git.example.com/repo.git", _rand(_ALNUM, 18)),
    ("secret.private-key", "{v}", _pem(_DER_HEAD + _KEY_BYTES)),
    ("secret.private-key", 'KEY = "{v}"', _pem(_DER_HEAD + _KEY_BYTES, nl="\\n")),
    ("secret.private-key", "{v}", _pem(_rand(_B64, 60), "PRIVATE KEY")),
    # a key cut off by a log line, no END marker: kept
    ("secret.private-key", "{v}", _CUT_KEY),
    ("secret.jwt", "Authorization: Bearer {v}", _jwt(_CLAIMS, _RANDOM_KEY)),
    (
        "secret.azure.storage-connection-string",
        "AccountName=acme;AccountKey={v};",
        _rand(_ALNUM, 86) + "==",
    ),
    ("secret.generic.json-field", '{{"auth": "{v}"}}', _b64(f"deploy:{_rand(_ALNUM, 20)}")),
    # credential ``…Token`` fields and flags keep being reported; so does a key in an image
    # address that is not the query string
    ("secret.generic.json-field", '{{"AccessToken": "{v}"}}', _rand(_ALNUM, 40)),
    ("secret.generic.json-field", '{{"SessionToken": "{v}"}}', _rand(_B64, 60)),
    ("secret.generic.json-field", '{{"refresh_token": "{v}"}}', _rand(_ALNUM, 22)),
    ("secret.generic.assignment", "oauth_token_secret={v}&", _rand(_ALNUM, 16)),
    ("secret.cli.flag", "aws apigateway get-api-key --api-key {v}", _rand(_ALNUM, 40)),
    ("secret.cli.flag", "app --access-token {v} --verbose", _rand(_ALNUM, 32)),
    ("secret.http.basic-auth", "Authorization: Basic {v}", _b64(f"s6BhdRkqt3:{_rand(_ALNUM, 12)}")),
    ("secret.private-key", 'KEY = "{v}"', _pem("EXAMPL" + _KEY_BYTES, nl="\\n")),
    ("secret.generic.assignment", '"KeyId=ABCDE1234567, SecretKey={v}"', _rand(_ALNUM, 40)),
    ("secret.generic.password", 'password="{v}"', _rand(_ALNUM, 12) + "++"),
    ("secret.generic.json-field", '{{"token": "{v}"}}', _rand(_ALNUM, 16)),
    (
        "secret.generic.password",
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY passwd: {v}",
        _rand(_ALNUM, 14) + "%t",
    ),
]


@pytest.mark.parametrize(("rule", "template", "value"), REAL_CODE_POSITIVES)
def test_real_code_positive(clf: Classifier, rule: str, template: str, value: str) -> None:
    line = template.format(v=value)
    found = {(m.rule, line[m.start : m.end]) for m in clf.scan(line)}
    assert (rule, value) in found, f"{rule} not found in a line of shape {template!r}: {found}"


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load()


@pytest.mark.parametrize("line", HARD_NEGATIVES)
def test_hard_negative(clf: Classifier, line: str) -> None:
    found = [(m.rule, line[m.start : m.end]) for m in clf.scan(line)]
    assert found == [], f"unexpected findings in {line!r}: {found}"


# Hostile input (scanned servers send anything): the scan stays linear. A quadratic
# regex would take tens of seconds on these 100k-character strings; linear ones take
# well under a second.
HOSTILE = {
    "user-labels": "User: a b c d " * 7000,
    "user-colons": "user: " * 17000,
    "labels-no-spaces": "human:/" * 15000,
    "role-keys": '"role":"user","content":"' * 4000,
    "escaped-role": '\\"role\\":\\"user\\",\\"content\\":\\"' * 3000,
    "at-signs": "@" * 100000,
    "dotted": "10." * 33000,
    "digits": "0000 " * 20000,
    "national-id": "nationalid." * 9000,
    "generic": "pwd=." * 20000,
    "prompt": '"prompt": ' * 10000,
    "paths": "/etc/a" * 16000,
    "email-ish": "a." * 50000 + "@",
    "escaped-content": '\\"content\\": \\"' + "a" * 40 + '"',
    "escaped-contents": ('\\"content\\": \\"' + "ab cd" * 8 + '" ') * 2000,
    "repr-roles": "{'role': 'user', 'content': '" * 5000,
    "text-keys": '"text": ' * 10000,
    "netrc": "machine a login b password " * 4000,
    "ssh": "ssh -p 1 " * 10000,
    "csv-questions": '"a?","' * 15000,
    "arrows": ">>> a " * 15000,
    "key-words": "key " * 25000,
    "prompt-assignments": 'prompt="a" ' * 9000,
    "tsv-roles": "\tuser\t" * 15000,
    "llm-cli": "llm -m x " * 10000,
    "escaped-human": "\\n\\nHuman: " * 8000,
    "span-attributes": '"gen_ai.prompt": ' * 6000,
    "message-classes": "HumanMessage(content=" * 5000,
    "q-labels": "Q: a b c " * 10000,
    "speaker-lines": ("\nsystem: " + "a " * 5) * 10000,
    "escaped-speaker-lines": ("\\nsystem: " + "ab " * 3) * 10000,
    "gpt-labels": "\ngpt-4o: " * 15000,
    "go-frames": "a.b(0xc000912767, " * 5000,
    "go-paths": "a/" * 20000 + "b.c(0xc000912767)",
    "escaped-java-frames": "\\n\\tat " * 10000 + "a.b(A.java:1)",
    "env-runs": "PATH=/a " * 12000,
    "grouped-digits": "PL91 " + "4539 " * 20000,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_is_linear(clf: Classifier, name: str) -> None:
    import time

    start = time.process_time()
    clf.scan(HOSTILE[name])
    assert time.process_time() - start < 4.0


def test_random_values_are_not_typed_sequences_or_self_describing() -> None:
    from leakmap.classify.names import says_secret, typed_sequence

    rng = random.Random(13)
    values = [
        "".join(rng.choice(_ALNUM + "!#$%&") for _ in range(rng.randint(8, 40)))
        for _ in range(3000)
    ]
    assert sum(typed_sequence(v) for v in values) == 0
    assert sum(says_secret(v) for v in values) == 0
    assert typed_sequence("0123456789abcdef") and says_secret("Pa$$w0rd!")
