"""The settings class: safe defaults for development, no placeholder secrets elsewhere."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.settings import DATA_DIR, Settings


def test_development_defaults_to_sqlite_under_data_and_the_embedded_temporal(monkeypatch):
    for name in ("DATABASE_URL", "TEMPORAL_ADDRESS", "ENVIRONMENT", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.database_url == f"sqlite:///{DATA_DIR / 'facet.db'}"
    assert settings.temporal_address == "localhost:7233"
    assert settings.sendgrid_api_key is None


@pytest.mark.parametrize("secret", ["dev-secret", "changethis", ""])
def test_production_refuses_a_placeholder_secret(secret):
    with pytest.raises(ValidationError, match="SECRET_KEY is a placeholder"):
        Settings(_env_file=None, environment="production", secret_key=secret)


def test_environment_variables_configure_everything(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-random-value")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://facet@db/facet")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    monkeypatch.setenv("SENDGRID_API_KEY", "")  # compose passes unset keys as empty strings
    settings = Settings(_env_file=None)
    assert settings.database_url == "postgresql+psycopg://facet@db/facet"
    assert settings.temporal_address == "temporal.internal:7233"
    assert settings.secret_key.get_secret_value() == "a-long-random-value"
    assert "a-long-random-value" not in repr(settings)
    assert settings.sendgrid_api_key is None


@pytest.mark.parametrize("value", ["1.5", "-0.1", "busy"])
def test_a_worker_cpu_target_outside_zero_to_one_is_refused(monkeypatch, value):
    monkeypatch.setenv("WORKER_TARGET_CPU", value)
    with pytest.raises(ValidationError, match="worker_target_cpu"):
        Settings(_env_file=None)


def test_an_inbound_parse_secret_short_enough_to_guess_is_refused(monkeypatch):
    monkeypatch.setenv("SENDGRID_INBOUND_SECRET", "hunter2")
    with pytest.raises(ValidationError, match="sendgrid_inbound_secret"):
        Settings(_env_file=None)
    monkeypatch.setenv("SENDGRID_INBOUND_SECRET", "k3J9x-long-enough-to-resist")
    assert Settings(_env_file=None).sendgrid_inbound_secret is not None


@pytest.mark.parametrize("key", ["changethis", "secret", ""])
def test_production_refuses_a_placeholder_valigara_key(key):
    with pytest.raises(ValidationError, match="VALIGARA_ACCESS_KEY is a placeholder"):
        Settings(
            _env_file=None, environment="production", secret_key="a-real-secret-of-some-length",
            valigara_access_key=key,
        )  # fmt: skip


def test_without_a_valigara_key_valigara_is_off_and_nothing_is_refused():
    settings = Settings(_env_file=None, environment="production", secret_key="a-real-secret-1")
    assert not settings.valigara_configured
    on = Settings(_env_file=None, valigara_access_key="vk-live-3f9a", valigara_sold_action="remove")
    assert on.valigara_configured and on.valigara_sold_action == "remove"
    with pytest.raises(ValidationError, match="valigara_sold_action"):
        Settings(_env_file=None, valigara_sold_action="delist")
