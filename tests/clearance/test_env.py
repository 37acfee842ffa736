import pytest
from django.core.exceptions import ImproperlyConfigured

from clearance.env import check_redis_url, env_bool, env_int, env_list, parse_database_url


def test_a_malformed_boolean_names_the_variable(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env_bool("DEBUG")


def test_booleans_read_the_usual_spellings(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", default=True) is False


def test_a_non_numeric_integer_names_the_variable(monkeypatch):
    monkeypatch.setenv("EMAIL_PORT", "25a")
    with pytest.raises(ImproperlyConfigured, match="EMAIL_PORT must be a whole number"):
        env_int("EMAIL_PORT", 25)


def test_an_integer_below_its_minimum_is_refused(monkeypatch):
    monkeypatch.setenv("EMAIL_PORT", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("EMAIL_PORT", 25, minimum=1)


def test_a_list_with_an_empty_item_is_refused(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "a.example,,b.example")
    with pytest.raises(ImproperlyConfigured, match="ALLOWED_HOSTS"):
        env_list("ALLOWED_HOSTS")


def test_a_database_url_becomes_a_postgresql_entry():
    db = parse_database_url("postgres://app:s%40cret@db.internal:6432/clearance")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"]) == ("clearance", "app", "s@cret")
    assert (db["HOST"], db["PORT"]) == ("db.internal", "6432")


def test_a_database_url_can_point_at_a_unix_socket():
    db = parse_database_url("postgresql://postgres@/clearance?host=/run/pg")
    assert db["HOST"] == "/run/pg"


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("sqlite:///db.sqlite3", "must be a postgres"),
        ("postgres://host:5432", "must name a database"),
        ("postgres://host:port/db", "has a port that is not a number"),
    ],
)
def test_a_bad_database_url_names_the_variable_and_the_rule(url, rule):
    with pytest.raises(ImproperlyConfigured, match=f"DATABASE_URL {rule}"):
        parse_database_url(url)


def test_a_redis_url_must_use_a_redis_scheme():
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL must be a redis://"):
        check_redis_url("http://localhost:6379")
    assert check_redis_url("unix:///tmp/redis.sock") == "unix:///tmp/redis.sock"
