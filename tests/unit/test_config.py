from pathlib import Path

import pytest

from doppel.config import ConfigError, Settings, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "doppel.toml"
    path.write_text(text)
    return path


def test_no_file_gives_the_demo_twin_with_seed_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    twin = settings.twin()
    assert twin.name == "allan-maverick"
    assert (twin.lora.r, twin.lora.alpha, twin.training.learning_rate) == (16, 32, 2e-4)
    assert (twin.training.epochs, twin.training.batch_size, twin.training.max_length) == (3, 4, 512)
    assert twin.sources.emails.limit == 1000 and twin.sources.conversations.limit == 5000
    assert twin.sources.deals.limit == 500 and twin.sources.notes.limit == 2000
    assert settings.embedded


def test_unknown_key_is_rejected_with_its_dotted_name(tmp_path):
    path = write(tmp_path, '[[twins]]\nname = "bob"\n[twins.training]\nepochz = 3\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert "twins.0.training.epochz" in str(err.value)
    assert "unknown key" in str(err.value)


def test_bad_value_names_the_key(tmp_path):
    path = write(tmp_path, '[[twins]]\nname = "bob"\n[twins.training]\nepochs = 0\n')
    with pytest.raises(ConfigError, match=r"twins\.0\.training\.epochs"):
        load_settings(path, env={})


def test_env_overrides_top_level_keys(tmp_path):
    path = write(tmp_path, 'database_url = "postgresql://from-file/db"\n')
    env = {"DOPPEL_DATABASE_URL": "postgresql://from-env/db", "DOPPEL_HOME": str(tmp_path)}
    settings = load_settings(path, env=env)
    assert settings.database_url == "postgresql://from-env/db"
    assert settings.home == tmp_path
    assert settings.resolved_models_dir == tmp_path / "models"
    assert not settings.embedded


def test_config_path_from_env(tmp_path):
    path = write(tmp_path, '[[twins]]\nname = "dana"\n[twins.persona]\nname = "Dana"\n')
    settings = load_settings(env={"DOPPEL_CONFIG": str(path)})
    assert settings.twin().persona.name == "Dana"


def test_several_twins_and_lookup(tmp_path):
    path = write(tmp_path, '[[twins]]\nname = "a"\n[[twins]]\nname = "b"\n')
    settings = load_settings(path, env={})
    assert settings.twin("b").name == "b"
    with pytest.raises(ConfigError, match="unknown twin 'c'.*a, b"):
        settings.twin("c")


def test_duplicate_twin_names_rejected():
    with pytest.raises(Exception, match="repeated"):
        Settings.model_validate({"twins": [{"name": "a"}, {"name": "a"}]})


def test_sql_identifiers_are_checked(tmp_path):
    path = write(tmp_path, '[[twins]]\nname = "a"\n[twins.sources.emails]\ntable = "emails; DROP TABLE x"\n')
    with pytest.raises(ConfigError, match=r"twins\.0\.sources\.emails"):
        load_settings(path, env={})


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "this is = = not toml"), env={})


def test_the_default_home_is_expanded_like_a_configured_one(monkeypatch, tmp_path):
    # Without this the default "~/.doppel" stays relative: `doppel demo` then `doppel versions` in another
    # folder would not find the demo's versions.
    from doppel.config import Settings, load_settings

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert Settings().home == tmp_path / ".doppel"
    assert load_settings(env={}).resolved_models_dir == tmp_path / ".doppel" / "models"


def test_a_malformed_database_url_is_named_without_echoing_it(tmp_path):
    from typer.testing import CliRunner

    from doppel.cli import app

    config = tmp_path / "doppel.toml"
    config.write_text('database_url = "postgresql://ana:s3cret@[bad:host/crm"\n[[twins]]\nname = "a"\n')
    with pytest.raises(ConfigError, match="database_url") as raised:
        load_settings(config)
    assert "s3cret" not in str(raised.value) and "postgresql://user:password@host" in str(raised.value)
    result = CliRunner().invoke(app, ["doctor", "--config", str(config)])
    assert result.exit_code != 0 and "database_url" in result.output
    assert "Traceback" not in result.output and "s3cret" not in result.output
