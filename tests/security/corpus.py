"""Planted secrets: one per format the redactor must know, each with a value that must never come out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Planted:
    name: str
    text: str  # how it stands in the input
    secret: str  # what must never be seen in any output


def _p(name: str, template: str, secret: str) -> Planted:
    return Planted(name, template.format(s=secret), secret)


CORPUS: list[Planted] = [
    _p("aws secret key", "aws_secret_access_key={s}", "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY"),
    _p("aws access key id", "key id {s} used", "AKIAIOSFODNN7EXAMPLE"),
    _p("secret_key", "secret_key={s}", "sk-plant-secret-key-0001"),
    _p("x-api-key header", "X-Api-Key: {s}", "apikey-plant-header-0002"),
    _p("redis url without user", "redis://:{s}@cache:6379/0", "redis-plant-pw-0003"),
    _p("quoted password with space", 'password = "{s}"', "plant pass 0004"),
    _p("json password", '{{"database.password": "{s}"}}', "json-plant-pw-0005"),
    _p("escaped json in a string", '"config": "{{\\"db.password\\":\\"{s}\\"}}"', "escjson-plant-0006"),
    _p("yaml password", "db:\n  password: {s}\n  user: app", "yaml-plant-pw-0007"),
    _p("jdbc url", "jdbc:mysql://debezium:{s}@mysql:3306/oltp", "jdbc-plant-pw-0008"),
    _p("jdbc query param", "jdbc:mysql://mysql:3306/oltp?user=app&password={s}&ssl=true", "jdbcq-plant-0009"),
    _p("ado connection string", "Server=db;Database=x;User Id=sa;Password={s};", "ado-plant-pw-0010"),
    _p("sasl jaas", 'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required '
                    'username="app" password="{s}";', "jaas-plant-pw-0011"),
    _p("bearer header", "Authorization: Bearer {s}", "bearer-plant-token-0012"),
    _p("basic auth header", "authorization: Basic {s}", "YmFzaWMtcGxhbnQ6MDAxMw=="),
    _p("slack bot token", "token {s} leaked", "xoxb-1111-2222-plantplantplant"),
    _p("github token", "push with {s}", "ghp_" + "P1antGitHubT0ken0014abcdefghijklmnop"[:36]),
    _p("jwt", "cookie {s}", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudCJ9.c2lnbmF0dXJlcGxhbnQwMDE1"),
    _p("private key", "-----BEGIN RSA PRIVATE KEY-----\n{s}\n-----END RSA PRIVATE KEY-----", "MIIEplantKEY0016"),
    _p("mongodb url", "mongodb://admin:{s}@mongo:27017/app", "mongo-plant-pw-0017"),
    _p("api_key yaml", "api_key: {s}", "apikey-yaml-plant-0018"),
    _p("token query", "GET /v1/x?access_token={s}&page=2", "qtoken-plant-0019"),
    _p("stripe key", "billing {s}", "sk_live_" + "plantStripe0020abcdefghi"),
    _p("slack webhook", "hook https://hooks.slack.com/services/T0PLANT/B0PLANT/{s}", "plantWebhookSecret0021"),
    _p("db pass env", "DB_PASS={s}", "dbpass-plant-0022"),
]


def planted_text(names: tuple[str, ...] | None = None) -> str:
    return "\n".join(p.text for p in CORPUS if names is None or p.name in names)


def leaks(output: str) -> list[str]:
    """The names of the planted secrets found in an output."""
    return [p.name for p in CORPUS if p.secret in output]
