"""`unionbot chat`: the local simulator, driven through its prompt."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from support.app import write_config

from bot.cli import main
from bot.cli.chat import scene_of


def embedded_config(tmp_path: Path) -> Path:
    """A config on the embedded defaults (its own memory:// store, a SQLite file), lexical matcher."""
    return write_config(tmp_path, knowledge={"semantic": "off"})


def test_scene_of_accepts_code_scene_and_local_poster_payload() -> None:
    assert scene_of("ST001") == scene_of("join:ST001") == scene_of("unionbot:join:ST001") == "join:ST001"


def test_chat_walks_a_worker_through_the_bot(tmp_path: Path) -> None:
    config = embedded_config(tmp_path)
    script = "\n".join([
        "帮助", "/scan ST001", "同意", "同意", "张三 13812345678 11010519491231002X", "3", "美团", "确认",
        "/location 30.605 119.68", "/voice", "/image", "/nonsense", "/user 李四", "我的会员", "/quit",
    ]) + "\n"
    result = CliRunner().invoke(main, ["chat", "--config", str(config)], input=script)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "【入会】" in out  # help
    assert "欢迎来到" in out and "个人信息" in out  # the scan started the signup at the station
    assert "提交成功" in out and "GH20" in out  # a member at the end
    assert "离您最近的职工驿站" in out
    assert "打字" in out  # a voice message without recognised text
    assert "unknown command /nonsense" in out
    assert "now chatting as 李四" in out and "还不是会员" in out  # 李四 has no card


def test_chat_gaps_lists_what_this_bot_could_not_answer(tmp_path: Path) -> None:
    """On the embedded memory:// store `unionbot faq gaps` cannot see the chat's process: /gaps can."""
    config = embedded_config(tmp_path)
    script = "/gaps\n怎么入会\n股票怎么买\n股票怎么买\n谢谢\n/gaps\n/quit\n"
    result = CliRunner().invoke(main, ["chat", "--config", str(config)], input=script)
    assert result.exit_code == 0, result.output
    _, after = result.output.split("没有记录到没答上来的问题", 1)  # the first /gaps: nothing yet
    # one group: asked twice, no answer; the answered question and the thanks are no gaps
    assert re.findall(r"(\d+)  (\S+)  \[(\w+)\]", after) == [("2", "股票怎么买", "没找到答案")]
