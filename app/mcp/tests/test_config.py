"""Settings come from the environment only, with defaults, and wrong values fail with the variable's name."""

from __future__ import annotations

import pytest
from taskflow_mcp.config import DEFAULT_PORT, Settings, check_secret, load_settings
from taskflow_mcp.main import create_app


def test_defaults() -> None:
    s = load_settings({})
    assert s.port == DEFAULT_PORT == 8001
    assert s.host == "0.0.0.0"
    assert s.log_level == "INFO"
    assert s.shared_secret == ""
    assert s.database_url.startswith("postgresql+psycopg://")


@pytest.mark.parametrize("scheme", ["postgresql://", "postgres://", "postgresql+psycopg2://", "postgresql+psycopg://"])
def test_every_postgresql_url_is_pointed_at_psycopg_3(scheme: str) -> None:
    assert load_settings({"DATABASE_URL": f"{scheme}u:p@h:5432/db"}).database_url == "postgresql+psycopg://u:p@h:5432/db"


def test_port_and_the_rest_are_read_from_the_environment() -> None:
    s = load_settings({"PORT": "9001", "HOST": "127.0.0.1", "LOG_LEVEL": "debug", "MCP_SHARED_SECRET": "s" * 40})
    assert (s.port, s.host, s.log_level, s.shared_secret) == (9001, "127.0.0.1", "DEBUG", "s" * 40)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"PORT": "eighty"}, "PORT must be an integer"),
        ({"PORT": "0"}, "PORT must be between 1 and 65535"),
        ({"PORT": "70000"}, "PORT must be between 1 and 65535"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of"),
        ({"DB_CONNECT_TIMEOUT_SECONDS": "-1"}, "DB_CONNECT_TIMEOUT_SECONDS must be between"),
    ],
)
def test_a_wrong_value_names_the_variable(env: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        load_settings(env)


def test_the_secret_never_shows_in_the_settings_repr() -> None:
    assert "hunter2" not in repr(Settings(shared_secret="hunter2" * 6))


@pytest.mark.parametrize(("secret", "words"), [("", "MCP_SHARED_SECRET is not set"), ("short", "too short")])
def test_the_app_refuses_to_start_without_a_usable_secret(secret: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        check_secret(secret)
    with pytest.raises(ValueError, match=words):
        create_app(Settings(shared_secret=secret))
