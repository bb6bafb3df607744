"""Telling a value from a name (leakmap.classify.names): every kind of false positive that
field-name rules gave on real code, and random secrets that must stay secrets."""

from __future__ import annotations

import random
import string

import pytest

from leakmap.classify import Classifier
from leakmap.classify.names import NAME_FILTERS, is_code, is_documented_credential, is_name

# (kind, line): a field-name rule matches the line's shape; the value is a name.
HARD_NEGATIVES = [
    ("identifier", 'SESSION_STATE_KEY = "_app_session_state"'),
    ("constant name", "passphrase = DEFAULT_VAULT_PASSPHRASE"),
    ("reference", "api_key = settings.OPENAI_API_KEY"),
    ("reference", "password=self.settings.password,"),
    ("keyword argument", "password=password,"),
    ("function call", 'password=os.getenv("DB_PASSWORD"),'),
    ("attribute call", 'password=creds.get("password"),'),
    ("type annotation", "token: _CachedPathToken"),
    ("type annotation", "def refresh(self, credentials: ManagedIdentityCredential) -> None:"),
    ("docstring type", ":type credential: ~contoso.core.credentials.TokenProvider"),
    ("urn", 'requested_token_type = "urn:ietf:params:oauth:token-type:refresh_token"'),
    ("mime type", '{"auth_content": "application/vnd.acme.v2+json"}'),
    ("enum value equal to its key", 'ORDER_TOKEN = "ORDER_TOKEN"'),
    ("env-var name", '{"openai_api_key": "OPENAI_API_KEY"}'),
    ("env-var name", 'return {"acme_secret_key": "ACME_SECRET_KEY"}'),
    ("header name", 'HEADER_AUTH_TOKEN = "X-Contoso-Session-Token"'),
    ("template ${}", "token=${API_TOKEN}"),
    ("template {{}}", "token={{ vault_api_token }}"),
    ("template %()s", "client_secret=%(client_secret)s"),
    ("template <>", "api_key=<your-api-key>"),
    ("template {}", "password: {db_password}"),
    ("minified code", "i.auth=i.password?i.username+':'+i.password:i.username"),
    ("minified code", "{password:!0,range:!0}"),
    ("minified code", "t.password=n.password,t.host=n.host,t.port=n.port"),
    ("arn", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ProdReplicaSecret-x9y8z7"),
    ("documented example", 'create_engine("postgresql+psycopg2://scott:tiger@localhost/test")'),
    ("documented example", "postgresql://user:password@localhost/mydb"),
    ("documented example", "postgres://postgres:postgres@localhost:5432/postgres"),
    ("documented example", "Server=db;Database=app;UID=scott;PWD=tiger;"),
    ("documented example", "Authorization: Basic dXNlcjpwYXNzd29yZA=="),
    ("reference as bearer", '{"Authorization": "Bearer os.environ/ACME_API_KEY"}'),
    ("class name near a keyword", 'mistral ("mistral", "TFMistralForSequenceClassification")'),
]


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load()


@pytest.mark.parametrize(("kind", "line"), HARD_NEGATIVES)
def test_names_are_not_secrets(clf: Classifier, kind: str, line: str) -> None:
    found = [m.rule for m in clf.scan(line) if m.category == "secret"]
    assert found == [], f"{kind}: {line!r} gave {found}"


def _random(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


@pytest.mark.parametrize(
    ("alphabet", "length", "at_most"),
    [
        (string.ascii_letters + string.digits, 32, 0.01),
        (string.ascii_letters + string.digits, 20, 0.03),
        (string.ascii_lowercase + string.digits, 32, 0.01),
        (string.ascii_letters + string.digits + "_-", 40, 0.01),
        (string.ascii_letters + string.digits + "+/", 40, 0.01),
        (string.hexdigits.lower()[:16], 32, 0.0),
    ],
)
def test_random_secrets_are_rarely_names(alphabet: str, length: int, at_most: float) -> None:
    rng = random.Random(length * 7 + len(alphabet))
    values = [_random(rng, alphabet, length) for _ in range(2000)]
    named = sum(is_name(v) for v in values)
    coded = sum(is_code(v) for v in values)
    assert named <= at_most * len(values) and coded <= at_most * len(values)


@pytest.mark.parametrize(
    "value",
    ["Summer2024!", "Tr0ub4dor&3", "p@ss{w0rd}", "Kx8#mQ2vLp", "S3cure-Pa55", "Efiufx+yyzsfFrca"],
)
def test_passwords_are_not_code(value: str) -> None:
    assert not is_code(value)


def test_documented_credentials() -> None:
    assert is_documented_credential("scott", "tiger")
    assert is_documented_credential("scott", "tiger^5HHH")
    assert is_documented_credential("Postgres", "postgres")
    assert is_documented_credential("deploy", "deploy")
    assert not is_documented_credential("app", "tiger")
    assert not is_documented_credential("scott", "Xk9mQ2vLp")
    assert not is_documented_credential("", "")


def test_url_filter_reads_the_user_before_the_password() -> None:
    url = NAME_FILTERS["url"]
    text = "db=postgres://scott:tiger@db/app other=mysql://app:tiger@db/app"
    first = text.index("tiger")
    second = text.index("tiger", first + 1)
    assert url("tiger", text, first)
    assert not url("tiger", text, second)


def test_arn_context_makes_a_name() -> None:
    text = "arn:aws:secretsmanager:us-east-1:123456789012:secret:App-Secret-q1w2e3"
    start = text.index("App-")
    assert NAME_FILTERS["identifier"]("App-Secret-q1w2e3", text, start)
    assert not NAME_FILTERS["identifier"]("q8Kz2LmX9vR4tY7w", "secret=q8Kz2LmX9vR4tY7w", 7)
