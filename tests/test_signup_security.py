"""Signup security (issue #12): names that are not names, invisible characters, no existence oracle.

The transcripts go through the router (see ``signup_transcript``); the oracle tests go through
signed WeChat XML into the real registry, on SQLite and PostgreSQL (``database_url``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from signup_transcript import ID, PHONE, at_step
from support.ids import nth_id
from test_signup_e2e import SignupBot, phone

INVISIBLE = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C,
                              *range(0x200B, 0x200E), 0x2060, 0xFEFF)]
"""Bidi controls (embeddings, overrides, isolates, LRM/RLM/ALM) and zero-width characters."""


# -- names that are not names ---------------------------------------------------------------------------


NOT_NAMES = ["null", "NULL", "undefined", "abc", "none", "None", "test", "123", "asdf", "qwerty", "xyz", "abc def",
             "test user", "null null", "asdf qwer", "Madonna", "哈哈哈", "测试", "某某"]


def test_names_that_are_not_names_are_refused_kindly() -> None:
    for not_a_name in NOT_NAMES:
        worker = at_step("name")
        reply = worker.send(not_a_name)
        assert worker.step == "name" and "name" not in worker.answers, not_a_name
        assert "姓名" in reply, not_a_name


def test_a_placeholder_name_in_one_message_is_not_stored() -> None:
    worker = at_step("name")
    worker.send(f"undefined {PHONE} {ID}")
    assert "name" not in worker.answers and worker.step == "name"
    assert worker.answers["phone"] == PHONE and worker.answers["id_number"] == ID


# -- invisible characters -------------------------------------------------------------------------------


@pytest.mark.parametrize("mark", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_invisible_characters_never_reach_the_answers_or_the_application(mark: str) -> None:
    worker = at_step("name")
    worker.send(f"张{mark}三")
    worker.send(f"{mark}{PHONE}")
    worker.send(f"{ID}{mark}")
    worker.send(f"其他 代{mark}驾")
    summary = worker.send(f"顺丰{mark}速运{mark}")
    assert worker.step == "summary", summary
    assert worker.answers["name"] == "张三"
    assert worker.answers["occupation_note"] == "代驾"
    assert worker.answers["employer"] == "顺丰速运"
    assert mark not in summary
    worker.send("确认")
    [(kind, application)] = worker.effects
    assert kind == "register_member"
    assert not any(mark in str(value) for value in application.values())


@pytest.mark.parametrize("mark", ["\u202e", "\u200b", "\u2067", "\ufeff"])
def test_invisible_characters_in_the_one_message_path(mark: str) -> None:
    worker = at_step("name")
    worker.send(f"张三{mark} {PHONE} {ID} 3 美{mark}团")
    assert worker.step == "summary"
    assert worker.answers["name"] == "张三" and worker.answers["employer"] == "美团"


@pytest.mark.parametrize("mark", ["\u202e", "\u200b"])
def test_an_override_cannot_hide_a_command_word_at_the_employer_step(mark: str) -> None:
    worker = at_step("employer")
    worker.send(f"确{mark}认")
    assert "employer" not in worker.answers and worker.step == "employer"


def test_one_function_strips_them_everywhere() -> None:
    from bot.signup.validators import normalize, remove_invisible

    text = "".join(f"x{mark}" for mark in INVISIBLE)
    assert remove_invisible(text) == "x" * len(INVISIBLE) == normalize(text)


# -- no existence oracle --------------------------------------------------------------------------------


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Iterator[SignupBot]:
    """The app with the registry on SQLite and PostgreSQL, the store embedded."""
    bot = SignupBot(tmp_path, database_url, f"memory://security-{uuid.uuid4().hex}", key_prefix=f"sec-{uuid.uuid4().hex[:12]}:")
    yield bot
    bot.close()


def start_second_account(bot: SignupBot, user: str) -> None:
    bot.subscribe(user, "join:ST002")
    bot.say(user, "同意")
    bot.say(user, "同意")
    bot.say(user, "李四")
    bot.say(user, phone(2))


def test_a_registered_id_number_from_another_account_learns_nothing_and_staff_see_it(bot: SignupBot) -> None:
    bot.sign_up("o-holder", n=1)
    [holder] = bot.member_rows()
    start_second_account(bot, "o-prober")
    reply = bot.say("o-prober", nth_id(1))

    for revealing in ("另一个微信号", "已经", "申请过", "已注册", "会员", holder.number, "张"):
        assert revealing not in reply, revealing
    assert "工作人员" in reply and "身份证" in reply
    assert "join" not in bot.state("o-prober")  # nothing typed is kept
    assert len(bot.member_rows()) == 1

    trail = bot.registry.events(holder.number)
    reused = [e for e in trail if e["action"] == "id_number_reused"]
    assert len(reused) == 1 and reused[0]["actor"] == "worker"
    for event in trail:
        assert nth_id(1) not in event["detail"] and phone(2) not in event["detail"]
        assert nth_id(1)[6:14] not in event["detail"]  # not even the birth date


def test_the_reply_is_word_for_word_the_registry_refusal_at_confirm(bot: SignupBot) -> None:
    """Two non-accepting paths, one wording: caught at the ID step, or refused at 确认 by the registry
    (the holder registered while this account was still typing)."""
    start_second_account(bot, "o-late")
    bot.say("o-late", nth_id(1))
    bot.say("o-late", "3")
    bot.say("o-late", "美团")  # at the summary, the number still free
    bot.sign_up("o-holder", n=1)
    at_confirm = bot.say("o-late", "确认")

    start_second_account(bot, "o-prober")
    at_id_step = bot.say("o-prober", nth_id(1))
    assert at_id_step == at_confirm
    assert "另一个微信号" not in at_confirm
