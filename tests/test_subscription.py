"""退订 / 订阅: the exact words stop and resume member notices, the reply confirms only what was
written, and outcome notices are promised to go on."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.app import Bot
from support.messages import USER, text
from test_signup_e2e import DEAD_DATABASE

from bot.core.conversation import Context
from bot.core.router import route
from bot.registry import notices
from bot.registry.repository import Registry
from handlers import subscription

CTX = Context(union_name="青溪县总工会")


@pytest.mark.parametrize("word", ["退订", "退订。", " TD ", "取消订阅", "不再接收通知"])
def test_the_opt_out_words_ask_for_an_opt_out(word: str) -> None:
    outcome = subscription.handle({"flow": "join", "join": {"step": "name"}}, text(word), CTX)
    assert outcome is not None and outcome.replies == ()  # the runner answers, once it is written
    [effect] = outcome.effects
    assert effect.kind == "notice_opt_out" and outcome.state == {"flow": "join", "join": {"step": "name"}}
    assert "已退订" in effect.data["done"] and "审核结果仍会照常通知" in effect.data["done"]
    assert "请过一会儿再回复“退订”" in effect.data["unavailable"] and "已退订" not in effect.data["unavailable"]


@pytest.mark.parametrize("word", ["订阅", "恢复订阅", "订阅通知"])
def test_the_opt_in_words_ask_for_an_opt_in(word: str) -> None:
    outcome = subscription.handle({}, text(word), CTX)
    assert outcome is not None and [e.kind for e in outcome.effects] == ["notice_opt_in"]
    assert "已订阅" in outcome.effects[0].data["done"]


@pytest.mark.parametrize("question", ["怎么退订", "退订了还能收到审核结果吗", "订阅号和服务号有什么区别", "会费退订"])
def test_a_question_containing_the_word_is_not_a_command(question: str) -> None:
    assert subscription.handle({}, text(question), CTX) is None
    assert not any(e.kind.startswith("notice_opt") for e in route({}, text(question), CTX).effects)


def test_the_router_takes_the_words_even_in_the_middle_of_a_signup() -> None:
    outcome = route({"flow": "join", "join": {"step": "consent"}}, text("退订"), CTX)
    assert [e.kind for e in outcome.effects] == ["notice_opt_out"]


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Bot:
    return Bot(tmp_path, database_url=database_url, migrate=True)


def say(bot: Bot, words: str, user: str = USER) -> str:
    reply = bot.sim.post(bot.sim.text(user, words))
    assert reply.status == 200
    return reply.text


def test_tuiding_and_dingyue_through_the_webhook(bot: Bot) -> None:
    registry = bot.services.registry
    reply = say(bot, "退订")
    assert reply.startswith("已退订") and "审核结果仍会照常通知您" in reply and "回复“订阅”" in reply
    assert notices.opted_out(registry, [USER, "someone-else"]) == {USER}
    assert say(bot, "退订").startswith("已退订")  # twice is fine
    assert say(bot, "订阅").startswith("已订阅")
    assert notices.opted_out(registry, [USER]) == set()


def test_with_the_database_down_the_reply_says_to_try_again(bot: Bot) -> None:
    real = bot.services.registry
    bot.services.registry = Registry.from_url(DEAD_DATABASE, connect_timeout=1)
    try:
        reply = say(bot, "退订")
    finally:
        bot.services.registry.close()
        bot.services.registry = real
    assert "没能退订" in reply and "已退订" not in reply
    assert notices.opted_out(real, [USER]) == set()
