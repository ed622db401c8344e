import pytest

from lacibot_lib.settings import DEFAULT_MODEL, Settings, get_settings, package_versions


def test_defaults_without_environment(monkeypatch):
    for name in ("LACIBOT_MODEL", "LACIBOT_DEVICE", "LACIBOT_SEED", "LACIBOT_SMOKE", "LACIBOT_BACKEND",
                 "OPENAI_API_KEY", "LACIBOT_EMBEDDINGS", "LACIBOT_TIMEOUT_S", "LACIBOT_MAX_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    s = Settings.from_env()
    assert s.model == DEFAULT_MODEL and s.device == "auto" and s.seed == 42 and not s.smoke and s.backend == "local"


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("LACIBOT_MODEL", "some/model")
    monkeypatch.setenv("LACIBOT_CACHE", str(tmp_path))
    monkeypatch.setenv("LACIBOT_SEED", "7")
    monkeypatch.setenv("LACIBOT_SMOKE", "yes")
    s = get_settings()
    assert (s.model, s.cache_dir, s.seed, s.smoke) == ("some/model", tmp_path, 7, True)
    assert get_settings(model="other", seed=None).model == "other"  # None keeps the environment's value


def test_bad_seed_names_the_variable(monkeypatch):
    monkeypatch.setenv("LACIBOT_SEED", "abc")
    with pytest.raises(ValueError, match="LACIBOT_SEED"):
        Settings.from_env()


def test_api_key_is_not_in_repr(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "fake-secret-value-123")
    assert "fake-secret" not in repr(get_settings())


def test_package_versions_reports_missing():
    versions = package_versions(("torch", "surely-not-a-package-xyz"))
    assert versions["torch"][0].isdigit() and versions["surely-not-a-package-xyz"] == "not installed"


@pytest.mark.parametrize("name,value,message", [
    ("LACIBOT_TIMEOUT_S", "abc", "LACIBOT_TIMEOUT_S must be a number, got 'abc'"),
    ("LACIBOT_TIMEOUT_S", "0", "LACIBOT_TIMEOUT_S must be at least 0.1"),
    ("LACIBOT_MAX_RETRIES", "2.5", "LACIBOT_MAX_RETRIES must be an integer"),
    ("LACIBOT_MAX_RETRIES", "-1", "LACIBOT_MAX_RETRIES must be at least 0"),
])
def test_malformed_numbers_name_the_variable(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        Settings.from_env()


def test_embeddings_choice_is_read_once_in_settings(monkeypatch):
    monkeypatch.delenv("LACIBOT_EMBEDDINGS", raising=False)
    assert get_settings().embeddings == "multilingual-e5-small"
    monkeypatch.setenv("LACIBOT_EMBEDDINGS", "intfloat/multilingual-e5-small")
    assert get_settings().embeddings == "intfloat/multilingual-e5-small"
