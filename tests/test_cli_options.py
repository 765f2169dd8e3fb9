"""``--config`` is read once per invocation, from the group or after the command, and every
registry a command opens is closed when it ends, whether it succeeded or not."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support.env import clean_unionbot_env

from bot.cli import main
from bot.registry.repository import Registry

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_unionbot_env(monkeypatch)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "unionbot.toml"
    path.write_text(f'[knowledge]\ndir = "{ROOT / "knowledge"}"\n[database]\nurl = "sqlite:///{tmp_path / "r.db"}"\n',
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("where", ["group", "command"])
def test_config_is_accepted_on_the_group_and_after_the_command(config_file: Path, where: str,
                                                               tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no knowledge/ here: only the config's knowledge.dir can be checked
    args = (["--config", str(config_file), "faq", "check"] if where == "group"
            else ["faq", "check", "--config", str(config_file)])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert f"检查通过：{ROOT / 'knowledge'} 有" in result.output


def test_a_bad_config_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[store]\nurl = "ftp://x"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["stations", "list", "--config", str(bad)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["Error: bad config: store.url: must start with memory://, "
                                                  "redis:// or rediss://, got 'ftp://x'"]


def test_the_registry_is_closed_when_the_command_ends(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[Registry] = []
    close = Registry.close
    monkeypatch.setattr(Registry, "close", lambda self: (closed.append(self), close(self))[1])
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", "--config", str(config_file)]).exit_code == 0
    assert len(closed) == 1
    assert runner.invoke(main, ["stations", "list", "--config", str(config_file)]).exit_code == 0
    assert len(closed) == 2
    failed = runner.invoke(main, ["members", "show", "GH2026999999", "--config", str(config_file)])
    assert failed.exit_code == 1 and "GH2026999999" in failed.output
    assert len(closed) == 3
