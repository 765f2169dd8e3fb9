"""`unionbot db` and `unionbot members` through click's CliRunner, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fake_wechat_api import FakeWechatApi
from openpyxl import load_workbook
from support.app import write_config
from support.applications import ID_1, ID_2, ID_3, application
from support.clock import Clock
from support.env import clean_unionbot_env

from bot.cli import main
from bot.config import load_config
from bot.registry import notices
from bot.registry.models import migrations_head
from bot.registry.repository import Registry
from bot.signup.privacy import generate_key

KEY_A = generate_key()
KEY_B = generate_key()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_unionbot_env(monkeypatch, "cli:tester")


@pytest.fixture
def make_config(tmp_path: Path, database_url: str) -> Callable[..., Path]:
    def make(name: str = "unionbot.toml", id_key: str = KEY_A, old: tuple[str, ...] = (), app_id: str = "",
             url: str | None = None, app_secret: str = "s3cret", api_base: str = "") -> Path:
        wechat = {"wechat": {"app_id": app_id, "app_secret": app_secret, "api_timeout": 2.0,
                             **({"api_base": api_base} if api_base else {})}} if app_id else {}
        return write_config(tmp_path, name, database={"url": url or database_url}, store={"url": "memory://members-cli"},
                            registry={"id_key": id_key, "old_id_keys": list(old)}, **wechat)

    return make


@pytest.fixture
def config(make_config: Callable[..., Path]) -> Path:
    path = make_config()
    result = CliRunner().invoke(main, ["db", "upgrade", "--config", str(path)])
    assert result.exit_code == 0, result.output
    return path


def seed(config: Path) -> Registry:
    """Three applications: two in March at ST001/ST002, one in January without a station."""
    clock = Clock(dt.datetime(2026, 1, 10, 2, 0, tzinfo=dt.UTC))
    registry = Registry.from_config(load_config(config), clock=clock)
    registry.register(application(openid="o-jan", id_number=ID_3, name="李四", phone="13900001111",
                                  station_code="", employer="=HYPERLINK(\"http://x\")"))
    clock.now = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    registry.register(application())  # 张三丰 at ST001
    registry.register(application(openid="o2", id_number=ID_2, name="王五", phone="13700002222",
                                  station_code="ST002"))
    return registry


def run(*args: str, obj: dict[str, Any] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), obj=obj)


# -- db ------------------------------------------------------------------------------------------


def test_db_upgrade_creates_and_then_keeps_the_schema(make_config: Callable[..., Path]) -> None:
    path = make_config()
    first = run("db", "upgrade", "--config", str(path))
    assert first.exit_code == 0, first.output
    head = migrations_head()
    assert f"upgraded (empty) -> {head}" in first.output
    again = run("db", "upgrade", "--config", str(path))
    assert again.exit_code == 0 and f"already at revision {head}" in again.output
    assert head in run("db", "current", "--config", str(path)).output


def test_db_upgrade_sql_prints_the_ddl(make_config: Callable[..., Path]) -> None:
    result = run("db", "upgrade", "--sql", "--config", str(make_config()))
    assert result.exit_code == 0, result.output
    assert "CREATE TABLE members" in result.output


def test_config_from_environment_variable(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(config).close()
    monkeypatch.setenv("UNIONBOT_CONFIG", str(config))
    result = run("members", "list")
    assert result.exit_code == 0 and "GH2026000003" in result.output


# -- list, show ----------------------------------------------------------------------------------


def test_list_is_masked_and_filtered(config: Path) -> None:
    seed(config).close()
    result = run("members", "list", "--config", str(config))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "张**" in out and "138****5678" in out and ID_1[:6] + "********" + ID_1[-4:] in out
    assert "张三丰" not in out and "13812345678" not in out and ID_1 not in out
    assert "共 3 人" in out
    assert "2026-03-01 10:00" in out  # local time (Asia/Shanghai)

    by_station = run("members", "list", "--station", "ST002", "--config", str(config)).output
    assert "GH2026000003" in by_station and "GH2026000002" not in by_station
    since = run("members", "list", "--since", "2026-02-01", "--config", str(config)).output
    assert "GH2026000001" not in since and "GH2026000002" in since
    run("members", "approve", "GH2026000002", "--config", str(config))
    pending = run("members", "list", "--status", "pending", "--config", str(config)).output
    assert run("members", "list", "--status", "待审核", "--config", str(config)).output == pending
    assert "GH2026000002" not in pending and "共 2 人" in pending
    bad = run("members", "list", "--since", "March", "--config", str(config))
    assert bad.exit_code == 2 and "不是日期" in bad.output


def test_show_prints_member_and_audit_trail(config: Path) -> None:
    seed(config).close()
    run("members", "reject", "GH2026000002", "--reason", "单位信息不完整", "--config", str(config))
    result = run("members", "show", "gh2026000002", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "状态: 审核未通过" in result.output and "说明: 单位信息不完整" in result.output
    assert "submitted  操作人 worker" in result.output and "rejected  操作人 cli:tester  单位信息不完整" in result.output
    assert "张三丰" not in result.output and ID_1 not in result.output


# -- approve, reject, notify ---------------------------------------------------------------------


def test_approve_and_reject_tell_the_worker_through_wechat(make_config: Callable[..., Path]) -> None:
    with FakeWechatApi() as fake:
        config = make_config(app_id=fake.app_id, app_secret=fake.app_secret, api_base=fake.base_url)
        assert run("db", "upgrade", "--config", str(config)).exit_code == 0
        registry = seed(config)
        result = run("members", "approve", "GH2026000002", "--config", str(config))
        assert result.exit_code == 0, result.output
        assert "GH2026000002 张**: 审核通过" in result.output
        assert "通知申请人：已通知本人，送达方式：客服消息。" in result.output  # no template configured
        assert [m["touser"] for m in fake.messages] == ["o-worker-1"]
        assert "GH2026000002" in fake.messages[0]["text"]["content"]
        assert [(e["action"], e["actor"]) for e in registry.events("GH2026000002")] == [
            ("submitted", "worker"), ("approved", "cli:tester"), ("notified", "wechat")]

        again = run("members", "approve", "GH2026000002", "--config", str(config))
        assert "已经是审核通过，没有改动" in again.output and len(fake.messages) == 1

        # the worker has not written for days: WeChat refuses (45015), the notice waits for them
        fake.closed_window.add("o2")
        result = run("members", "reject", "GH2026000003", "--reason", "非本县务工人员", "--config", str(config))
        assert result.exit_code == 0 and "送达方式：待工人下次发消息时显示" in result.output
        assert registry.events("GH2026000003")[-1]["action"] == "notify_waiting"
        assert len(fake.messages) == 1
    registry.close()


def test_without_a_wechat_api_the_notice_waits_for_the_next_message(config: Path) -> None:
    registry = seed(config)
    result = run("members", "reject", "GH2026000002", "--reason", "信息有误", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "微信暂时无法送达（未配置公众号接口），送达方式：待工人下次发消息时显示。" in result.output
    [waiting] = notices.waiting_for(registry, "o-worker-1")
    assert "原因：信息有误" in waiting.text
    registry.close()


def test_reject_needs_a_reason_and_errors_are_one_line(config: Path, make_config: Callable[..., Path]) -> None:
    seed(config).close()
    missing = run("members", "reject", "GH2026000002", "--config", str(config))
    assert missing.exit_code == 2 and "--reason" in missing.output

    unknown = run("members", "approve", "GH2026000099", "--config", str(config))
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "Error: 没有会员编号 GH2026000099"

    run("members", "approve", "GH2026000002", "--config", str(config))
    refused = run("members", "reject", "GH2026000002", "--reason", "x", "--config", str(config))
    assert refused.exit_code == 1 and "已审核通过，不能再改为不通过" in refused.output

    down = make_config("down.toml", url="postgresql+psycopg://unionbot@127.0.0.1:1/unionbot")
    for args in (["members", "list"], ["members", "approve", "GH2026000001"], ["db", "upgrade"]):
        result = run(*args, "--config", str(down))
        assert result.exit_code == 1, result.output
        assert result.output.startswith("Error: database unavailable")
        assert len(result.output.strip().splitlines()) == 1

    bad_key = make_config("badkey.toml", id_key="short")
    result = run("members", "list", "--config", str(bad_key))
    assert result.exit_code == 1 and "registry.id_key" in result.output


# -- export --------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_export_defaults_to_approved_members(config: Path, tmp_path: Path) -> None:
    registry = seed(config)
    registry.approve("GH2026000002", "staff")
    out = tmp_path / "approved.csv"
    result = run("members", "export", "--out", str(out), "--config", str(config))
    assert result.exit_code == 0, result.output
    assert [(r["会员号"], r["状态"]) for r in read_csv(out)] == [("GH2026000002", "审核通过")]


def test_csv_export_is_masked_by_default(config: Path, tmp_path: Path) -> None:
    registry = seed(config)
    out = tmp_path / "members.csv"
    result = run("members", "export", "--status", "全部", "--out", str(out), "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "已导出 3 人" in result.output and "部分隐藏" in result.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    rows = read_csv(out)
    assert [r["会员号"] for r in rows] == ["GH2026000001", "GH2026000002", "GH2026000003"]
    second = rows[1]
    assert second["姓名"] == "张**" and second["手机号"] == "138****5678"
    assert second["身份证号"] == ID_1[:6] + "********" + ID_1[-4:]
    assert second["状态"] == "待审核" and second["驿站编号"] == "ST001"
    assert rows[0]["工作单位/平台"].startswith("'=")  # never a live formula
    assert ID_1 not in out.read_text(encoding="utf-8-sig")
    assert all(e["action"] != "exported_full" for e in registry.events("GH2026000002"))

    filtered = tmp_path / "st.csv"
    run("members", "export", "--status", "全部", "--station", "ST002", "--since", "2026-02-01", "--out", str(filtered),
        "--config", str(config))
    assert [r["会员号"] for r in read_csv(filtered)] == ["GH2026000003"]

    to_stdout = run("members", "export", "--out", "-", "--status", "pending", "--config", str(config))
    assert to_stdout.exit_code == 0
    assert len(list(csv.reader(io.StringIO(to_stdout.stdout)))) == 4  # header + 3 pending
    assert "已导出 3 人到 屏幕" in to_stdout.stderr
    registry.close()


def test_full_csv_export_is_audited_and_private(config: Path, tmp_path: Path) -> None:
    registry = seed(config)
    out = tmp_path / "full.csv"
    result = run("members", "export", "--status", "全部", "--full", "--station", "ST001", "--out", str(out), "--config", str(config))
    assert result.exit_code == 0, result.output
    (row,) = read_csv(out)
    assert row["姓名"] == "张三丰" and row["手机号"] == "13812345678" and row["身份证号"] == ID_1
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    last = registry.events("GH2026000002")[-1]
    assert last["action"] == "exported_full" and last["actor"] == "cli:tester" and "full.csv" in last["detail"]
    assert all(e["action"] != "exported_full" for e in registry.events("GH2026000003"))
    registry.close()


def test_xlsx_export_masked_and_full(config: Path, tmp_path: Path) -> None:
    registry = seed(config)
    masked, full = tmp_path / "m.xlsx", tmp_path / "f.xlsx"
    assert run("members", "export", "--status", "全部", "--format", "xlsx", "--out", str(masked), "--config", str(config)).exit_code == 0
    sheet = load_workbook(masked).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["会员号", "状态", "姓名"] and len(values) == 4
    assert values[2][5] == "138****5678" and values[2][6].startswith(ID_1[:6] + "****")

    result = run("members", "export", "--status", "全部", "--format", "xlsx", "--full", "--out", str(full), "--config", str(config))
    assert result.exit_code == 0, result.output
    values = [[c.value for c in row] for row in load_workbook(full).active.iter_rows()]
    assert {v[6] for v in values[1:]} == {ID_1, ID_2, ID_3}
    assert all(isinstance(v[6], str) for v in values[1:])  # text: all 18 digits survive Excel
    assert values[1][8].startswith("'=")
    assert all(registry.events(n)[-1]["action"] == "exported_full"
               for n in ("GH2026000001", "GH2026000002", "GH2026000003"))

    refused = run("members", "export", "--status", "全部", "--format", "xlsx", "--out", "-", "--config", str(config))
    assert refused.exit_code == 2
    registry.close()


def test_large_export_reports_progress_on_stderr(config: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    members_cli = importlib.import_module("bot.cli.members")  # bot.cli.members is also the group

    seed(config).close()
    monkeypatch.setattr(members_cli, "PROGRESS_EVERY", 2)
    result = CliRunner().invoke(main, ["members", "export", "--status", "全部", "--out", str(tmp_path / "x.csv"),
                                       "--config", str(config)])
    assert result.exit_code == 0
    assert "已导出 2/3" in result.stderr and "已导出 2/3" not in result.stdout


# -- keys ----------------------------------------------------------------------------------------


def test_rekey_rotates_to_the_new_key(config: Path, make_config: Callable[..., Path], tmp_path: Path) -> None:
    seed(config).close()
    rotating = make_config("rotating.toml", id_key=KEY_B, old=(KEY_A,))
    result = run("members", "rekey", "--config", str(rotating))
    assert result.exit_code == 0, result.output
    assert "rekeyed 3, already current 0" in result.output
    assert "rekeyed 0, already current 3" in run("members", "rekey", "--config", str(rotating)).output

    new_only = make_config("new.toml", id_key=KEY_B)
    out = tmp_path / "after.csv"
    assert run("members", "export", "--status", "全部", "--full", "--out", str(out), "--config", str(new_only)).exit_code == 0
    assert {r["身份证号"] for r in read_csv(out)} == {ID_1, ID_2, ID_3}

    lost = make_config("lost.toml", id_key=generate_key())
    failed = run("members", "rekey", "--config", str(lost))
    assert failed.exit_code == 1
    assert "3 member(s) cannot be decrypted" in failed.output and "old_id_keys" in failed.output


def test_keygen_prints_a_usable_key() -> None:
    result = CliRunner().invoke(main, ["members", "keygen"])
    assert result.exit_code == 0
    key = result.stdout.strip()
    from bot.signup.privacy import IdCipher

    assert IdCipher(key).decrypt(IdCipher(key).encrypt(ID_1)) == ID_1
