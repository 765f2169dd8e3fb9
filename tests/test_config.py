"""Config: TOML + environment, and one clear line for each bad value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads_and_matches_defaults() -> None:
    from dataclasses import replace

    example = load_config(ROOT / "config.example.toml", environ={})
    assert replace(example, source="x") == replace(load_config(None, environ={}), source="x")


def test_environment_overrides_secrets(tmp_path: Path) -> None:
    path = write(tmp_path, '[wechat]\napp_id = "wx1"\napp_secret = "from-file"\n')
    config = load_config(path, environ={"UNIONBOT_WECHAT_APP_SECRET": "from-env", "UNIONBOT_STORE_STATE_TTL": "60"})
    assert config.wechat.app_secret == "from-env"
    assert config.store.state_ttl == 60


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[service]\nhotline = "0571-12351"\n')
    assert load_config(None, environ={"UNIONBOT_CONFIG": str(path)}).service.hotline == "0571-12351"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[wechat]\nmode = "secret"\n', "wechat.mode: must be one of plain, compatible, safe"),
        ('[wechat]\nmode = "safe"\napp_id = "wx1"\n', "wechat.encoding_aes_key: must be 43 characters"),
        ('[wechat]\ntimestamp_window = "soon"\n', "wechat.timestamp_window: must be a number"),
        ('[wechat]\ntokn = "x"\n', "wechat.tokn: unknown key"),
        ('[store]\nurl = "mysql://x"\n', "store.url: must start with"),
        ('[database]\nurl = "nonsense"\n', "database.url: not a database URL"),
        ('[knowledge]\nmatch_memo = -1\n', "knowledge.match_memo: must be 0 (off) or a positive number"),
        ('[registry]\nid_key = "short"\n', "registry.id_key: must be 32 random bytes"),
        ('[registry]\nold_id_keys = ["dev", "x"]\n', "registry.old_id_keys[1]: must be 32 random bytes"),
        ('[notify]\nduty_hours = ["9-17"]\n', "notify.duty_hours: '9-17' is not a span"),
        ('[notify]\noutcome_fields = ["first"]\n', "notify.outcome_fields: 'first' is not field={placeholder}"),
        ('[notify]\nduty_days = "weekdays"\n', "notify.duty_days: ISO weekdays"),
        ('[notify]\noutcome_fields = ["keyword1={phone}"]\n', "notify.outcome_fields: 'keyword1={phone}' uses phone"),
        ('[notify]\nstaff_fields = ["keyword1={name}"]\n', "notify.staff_fields: 'keyword1={name}' uses name"),
        ('[notify]\nnotice_fields = ["remark={body}"]\n', "notify.notice_fields: 'remark={body}' uses body"),
        ("wechat = 3\n", "wechat: must be a table"),
        ("[wechat\n", "not valid TOML"),
    ],
)
def test_bad_config_names_key_and_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(write(tmp_path, text), environ={})


def test_bad_config_stops_startup_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[wechat]\nmode = "secret"\n')
    result = CliRunner().invoke(main, ["serve", "--config", str(path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: bad config: wechat.mode: must be one of plain, compatible, safe, got 'secret'"
    ]


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml", environ={})


def test_several_workers_refuse_the_memory_store(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--workers", "2", "--config", str(write(tmp_path, ""))])
    assert result.exit_code == 1
    assert "memory://" in result.output and "redis://" in result.output


def test_every_key_is_documented_in_the_example() -> None:
    import re
    import tomllib
    from dataclasses import fields

    from bot.config import Config

    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    for section in fields(Config):
        if section.name == "source":
            continue
        for key in fields(getattr(Config(), section.name)):
            assert key.name in example[section.name], f"[{section.name}] {key.name} missing from config.example.toml"
            # a comment explains it: on the line(s) above, or on its own line
            assert re.search(rf"(#[^\n]*\n(?:\w+ = [^\n]*\n)?{key.name} =|\n{key.name} = [^\n]*#)", text), \
                f"{key.name} has no comment"
