"""`unionbot notice` through click's CliRunner against the fake WeChat API, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fake_wechat_api import FakeWechatApi
from support.app import write_config
from support.env import clean_unionbot_env
from support.members import NOT_APPROVED, ST001_APPROVED, ST002_APPROVED, seed_members

from bot.cli import main
from bot.config import load_config
from bot.registry import broadcasts, notices, staff
from bot.registry.repository import Registry
from bot.signup.privacy import IdCipher, generate_key

notice_cli = importlib.import_module("bot.cli.notice")  # the module: ``bot.cli.notice`` is also the group's name
TEXT = "7月10日起，各职工驿站免费发放防暑降温用品，凭会员卡领取。"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_unionbot_env(monkeypatch, "cli:wang")


@pytest.fixture
def fake() -> Iterator[FakeWechatApi]:
    with FakeWechatApi() as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, database_url: str, fake: FakeWechatApi) -> Path:
    path = write_config(tmp_path, database={"url": database_url}, store={"url": f"memory://{uuid.uuid4().hex}"},
                        registry={"id_key": generate_key()},
                        wechat={"app_id": fake.app_id, "app_secret": fake.app_secret, "api_base": fake.base_url},
                        notify={"notice_template": "TPL-NOTICE", "send_rate": 500.0},
                        service={"union_name": "青溪县总工会"})
    reg = registry_of(path)
    reg.upgrade()
    seed_members(reg)
    reg.close()
    (tmp_path / "notice.txt").write_text(TEXT + "\n", encoding="utf-8")
    return path


def registry_of(path: Path) -> Registry:
    config = load_config(path, environ={})
    return Registry.from_url(config.database.url, IdCipher(config.registry.id_key))


def run(config: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["notice", *args, "--config", str(config)], input=stdin)


def sent_to(fake: FakeWechatApi) -> list[str]:
    return [t["touser"] for t in fake.templates] + [m["touser"] for m in fake.messages]


def written(config: Path) -> tuple[int, int]:
    reg = registry_of(config)
    try:
        return len(broadcasts.recent(reg)), len(notices.query(reg))
    finally:
        reg.close()


def test_a_dry_run_shows_who_and_how_many_and_sends_and_writes_nothing(config: Path, fake: FakeWechatApi) -> None:
    reg = registry_of(config)
    notices.opt_out(reg, "o-a2")
    reg.close()
    result = run(config, "send", "--all", "--text-file", str(config.parent / "notice.txt"), "--title", "送清凉",
                 "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "【送清凉】\n" + TEXT in out and "回复“退订”不再接收通知" in out
    assert "将收到：3 人（另有 1 人已退订，不发送）" in out
    assert "ST001 青溪驿站  2 人" in out and "ST002 城东驿站  1 人" in out and "网约送餐员  1 人" in out
    assert "例如：张**、张**、李*" in out and "张三丰" not in out
    assert "试运行" in out and fake.calls == [] and written(config) == (0, 0)


def test_send_to_a_station_reaches_its_approved_members_and_nobody_else(config: Path, fake: FakeWechatApi) -> None:
    fake.unfollowed.add("o-a3")  # blocked the account: the notice waits for their next message
    result = run(config, "send", "--station", "ST001", "--text-file", str(config.parent / "notice.txt"),
                 "--title", "送清凉", "--yes")
    assert result.exit_code == 0, result.output
    assert sorted(sent_to(fake)) == ST001_APPROVED[:2]
    assert not set(sent_to(fake)) & {*ST002_APPROVED, *NOT_APPROVED}
    assert "已创建通知 #1" in result.output and "送达 2 人；未送达 1 人" in result.output and "已发送完毕" in result.output
    listing = run(config, "list")
    assert "送清凉" in listing.output and "驿站 ST001 青溪驿站" in listing.output and "2/3" in listing.output
    shown = run(config, "show", "1")
    assert shown.exit_code == 0 and shown.output.count("张**") == 3 and "张三丰" not in shown.output
    assert "模板消息" in shown.output and "已送达" in shown.output
    failed = run(config, "show", "1", "--failed").output.split("原因", 1)[1]
    assert failed.count("张**") == 1 and "errcode 43004（未关注公众号）" in failed
    reg = registry_of(config)
    try:
        [event] = [e for e in staff.staff_events(reg) if e["action"] == "notice_created"]
        assert event["actor"] == "cli:wang" and "送清凉" in event["detail"]
    finally:
        reg.close()


def test_without_yes_it_asks_showing_the_count(config: Path, fake: FakeWechatApi,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notice_cli, "_interactive", lambda: True)  # run from a terminal
    args = ("send", "--occupation", "网约送餐员", "--text-file", str(config.parent / "notice.txt"))
    declined = run(config, *args, stdin="n\n")
    assert "确定向 1 人发送《会员通知》吗？" in declined.output and declined.exit_code == 1
    assert written(config) == (0, 0) and fake.calls == []
    accepted = run(config, *args, stdin="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert sent_to(fake) == ST002_APPROVED


def test_from_a_script_nobody_can_be_asked_so_it_sends(config: Path, fake: FakeWechatApi) -> None:
    result = run(config, "send", "--station", "ST002", "--text-file", str(config.parent / "notice.txt"))
    assert result.exit_code == 0 and "无法询问确认" in result.output and sent_to(fake) == ST002_APPROVED


def test_text_from_stdin_and_a_customer_service_message_with_the_link(config: Path, fake: FakeWechatApi) -> None:
    text = config.read_text(encoding="utf-8").replace('notice_template = "TPL-NOTICE"', 'notice_template = ""')
    config.write_text(text, encoding="utf-8")
    result = run(config, "send", "--station", "ST002", "--text-file", "-", "--url", "https://mp.weixin.qq.com/s/x",
                 "--yes", stdin="新驿站开放啦\n")
    assert result.exit_code == 0, result.output
    [message] = fake.messages
    assert message["touser"] == "o-b1" and "新驿站开放啦\n详情：https://mp.weixin.qq.com/s/x" in message["text"]["content"]


@pytest.mark.parametrize(("args", "text", "error"), [
    (["--station", "ST999"], TEXT, "没有驿站 ST999"),
    (["--occupation", "厨师"], TEXT, "没有“厨师”这个职业"),
    (["--all"], "  \n", "通知内容不能为空"),
    (["--all"], "很长" * 700, "通知太长"),
    (["--all", "--title", "二〇二六年青溪县总工会金秋助学活动报名开始了"], TEXT, "标题最多 20 个字"),
    (["--occupation", "保安员"], TEXT, "没有可以接收通知的会员"),
])
def test_what_cannot_be_sent_is_refused_with_a_clear_error(config: Path, fake: FakeWechatApi, args: list[str],
                                                          text: str, error: str) -> None:
    path = config.parent / "bad.txt"
    path.write_text(text, encoding="utf-8")
    result = run(config, "send", *args, "--text-file", str(path), "--yes")
    assert result.exit_code == 1 and error in result.output
    assert written(config) == (0, 0) and fake.calls == []


@pytest.mark.parametrize("args", [[], ["--station", "ST001", "--all"]])
def test_exactly_one_audience_is_needed(config: Path, args: list[str]) -> None:
    result = run(config, "send", *args, "--text-file", str(config.parent / "notice.txt"), "--yes")
    assert result.exit_code == 2 and "--station、--occupation、--all" in result.output


def test_a_background_notice_is_resumed_and_a_paused_one_goes_on(config: Path, fake: FakeWechatApi) -> None:
    fake.template_quota = 1
    created = run(config, "send", "--all", "--text-file", str(config.parent / "notice.txt"), "--yes", "--background")
    assert created.exit_code == 0 and "后台发送" in created.output and fake.templates == []
    paused = run(config, "resume", "1")
    assert paused.exit_code == 0 and "已暂停" in paused.output and len(fake.templates) == 1
    assert "待发送 3" in run(config, "show", "1").output
    fake.template_quota = None  # the quota back (staff resume it by hand instead of waiting for tomorrow)
    done = run(config, "resume", "1")
    assert done.exit_code == 0 and "已发送完毕" in done.output
    assert sorted(sent_to(fake)) == sorted([*ST001_APPROVED, *ST002_APPROVED])
    assert "已经发送完毕" in run(config, "resume", "1").output


def test_ctrl_c_leaves_the_notice_to_resume(config: Path, fake: FakeWechatApi, monkeypatch: pytest.MonkeyPatch) -> None:
    def one_round_then_ctrl_c(self, broadcast_id, on_progress=None):  # noqa: ANN001, ANN202
        self.send(broadcast_id, seconds=0.001)
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(notice_cli.Broadcaster, "drive", one_round_then_ctrl_c)
        stopped = run(config, "send", "--all", "--text-file", str(config.parent / "notice.txt"), "--yes")
    assert stopped.exit_code == 130 and "已中断" in stopped.output and "unionbot notice resume 1" in stopped.output
    assert len(fake.templates) < 4
    assert run(config, "resume", "1").exit_code == 0
    assert sorted(sent_to(fake)) == sorted([*ST001_APPROVED, *ST002_APPROVED])


def test_unknown_notice(config: Path) -> None:
    result = run(config, "show", "42")
    assert result.exit_code == 1 and "没有编号为 42 的通知" in result.output
