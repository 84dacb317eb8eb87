"""Settings fail closed: production unless development is asked for, and outside development no placeholder or
short key; a process given such settings stops at start-up with one line saying why, and no setting's value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
STRONG = "k" * 32


@pytest.fixture
def no_environment(monkeypatch):
    for name in ("ENVIRONMENT", "SECRET_KEY", "SECRET_KEY_PREVIOUS", "PSEUDONYM_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_production_is_the_default(no_environment, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", STRONG)
    assert Settings(_env_file=None).ENVIRONMENT == "production"


@pytest.mark.parametrize("environment", [None, "production", "test"], ids=["unset", "production", "test"])
@pytest.mark.parametrize(
    "key,reason",
    [
        (None, "SECRET_KEY é um valor de exemplo"),  # the default
        ("changethis", "SECRET_KEY é um valor de exemplo"),  # .env.example's
        ("ChangeThis ", "SECRET_KEY é um valor de exemplo"),
        ("uma-chave-curta-demais", "SECRET_KEY tem 22 caracteres, menos que 32"),
        ("k" * 31, "SECRET_KEY tem 31 caracteres, menos que 32"),
    ],
    ids=["default", "env-example", "case-and-space", "short", "31-chars"],
)
def test_a_placeholder_or_short_key_is_refused_outside_development(
    no_environment, monkeypatch, environment, key, reason
):
    if environment:
        monkeypatch.setenv("ENVIRONMENT", environment)
    if key:
        monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    message = str(refused.value)
    assert reason in message
    assert f"chave recusada com ENVIRONMENT={environment or 'production'}" in message
    assert "secrets.token_urlsafe(32)" in message and "ENVIRONMENT=development" in message


def test_a_weak_pseudonym_key_is_refused_too(no_environment, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv("PSEUDONYM_KEY", "changethis")
    with pytest.raises(ValidationError, match="PSEUDONYM_KEY é um valor de exemplo"):
        Settings(_env_file=None)
    monkeypatch.setenv("PSEUDONYM_KEY", "p" * 32)
    assert Settings(_env_file=None).PSEUDONYM_KEY is not None


@pytest.mark.parametrize("key", [None, "changethis", "curta"])
def test_development_must_be_asked_for_and_then_accepts_any_key(no_environment, monkeypatch, key):
    monkeypatch.setenv("ENVIRONMENT", "development")
    if key:
        monkeypatch.setenv("SECRET_KEY", key)
    assert Settings(_env_file=None).SECRET_KEY.get_secret_value() == (key or "changethis")


def test_http_webhooks_are_refused_by_default(monkeypatch):
    from core import netguard
    from core.settings import settings

    monkeypatch.setattr(settings, "ENVIRONMENT", Settings.model_fields["ENVIRONMENT"].default)
    with pytest.raises(netguard.UnsafeTarget, match="https"):
        netguard.check_url_shape("http://exemplo.gov.br/webhook")
    assert netguard.check_url_shape("https://exemplo.gov.br/webhook") == ("exemplo.gov.br", 443)


def test_a_long_random_key_is_accepted_in_production(no_environment, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv("SECRET_KEY_PREVIOUS", " changethis , outra-chave-antiga ,")  # old keys only open old seals
    settings = Settings(_env_file=None)
    assert settings.previous_secret_keys == ["changethis", "outra-chave-antiga"]


def _start(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("ENVIRONMENT", "SECRET_KEY")}
    env.update(OPENAI_API_KEY="sk-nao-deve-aparecer-0123456789", PYTHONPATH=str(ROOT))
    return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "argv",
    [
        [str(Path(sys.executable).parent / "nexora"), "apikey", "create", "x"],
        [sys.executable, "-m", "uvicorn", "deployments.api.app:app", "--port", "1"],
    ],
    ids=["cli", "api"],
)
def test_a_process_with_the_default_key_stops_at_start_up_with_the_reason(tmp_path, argv):
    done = _start(argv, tmp_path)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "configuração recusada: SECRET_KEY é um valor de exemplo" in done.stderr
    assert "chave recusada com ENVIRONMENT=production" in done.stderr
    assert "Traceback" not in done.stderr and "sk-nao-deve-aparecer" not in done.stderr + done.stdout
