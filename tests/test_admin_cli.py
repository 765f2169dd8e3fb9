"""`unionbot admin`: console accounts from the command line."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from bot.config import load_config
from bot.registry import staff
from bot.registry.repository import Registry


def test_create_passwd_list_disable(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "c.db"}"\n', encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", "--config", str(config)]).exit_code == 0

    def run(*args: str, stdin: str | None = None):
        return runner.invoke(main, ["admin", *args, "--config", str(config)], input=stdin)

    created = run("create-user", "wang", "--role", "reviewer", "--password-stdin", stdin="first password\n")
    assert created.exit_code == 0 and "created reviewer wang" in created.output
    assert "first password" not in created.output
    again = run("create-user", "wang", "--role", "admin", "--password-stdin", stdin="first password\n")
    assert again.exit_code == 1 and "already exists" in again.output
    short = run("create-user", "li", "--role", "admin", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1 and "at least 10" in short.output
    bad_role = run("create-user", "li", "--role", "boss", "--password-stdin", stdin="first password\n")
    assert bad_role.exit_code == 2
    assert run("passwd", "wang", "--password-stdin", stdin="second password\n").exit_code == 0
    registry = Registry.from_config(load_config(config))
    try:
        assert staff.authenticate(registry, "wang", "second password") == {"username": "wang", "role": "reviewer"}
        assert "wang  reviewer  active" in run("list").output
        assert run("disable", "wang").exit_code == 0
        assert "wang  reviewer  disabled" in run("list").output
        assert staff.authenticate(registry, "wang", "second password") is None
        assert run("disable", "nobody").exit_code == 1
    finally:
        registry.close()
