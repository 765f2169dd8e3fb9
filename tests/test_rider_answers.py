"""A new rider's questions through the webhook and the shipped knowledge, with both matchers:
the headline questions answered directly (traditional characters too), off-topic questions told
honestly "not found", a number the list does not have, and for staff a list left unpicked, a pick
from it, and 人工 asked for afterwards."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bot.config import Config, DatabaseConfig, KnowledgeConfig, StoreConfig, WechatConfig
from bot.faq.knowledge import load_knowledge
from bot.services import Services
from bot.storage.store import Store
from bot.web.app import create_app
from bot.wechat.simulator import Simulator, flask_transport

ROOT = Path(__file__).resolve().parent.parent
NOW = 1_790_000_000.0
ANSWERS = {e.id: e.answer for e in load_knowledge(ROOT / "knowledge").entries}


class RiderChat:
    def __init__(self, tmp_path: Path, store: Store, semantic: bool) -> None:
        config = Config(
            wechat=WechatConfig(token="test-token", mode="plain"),
            store=StoreConfig(url="memory://unused"),
            database=DatabaseConfig(url=f"sqlite:///{tmp_path / 'bot.db'}"),
            knowledge=KnowledgeConfig(dir=str(ROOT / "knowledge"), semantic="on" if semantic else "off"),
        )
        self.services = Services.from_config(config, clock=lambda: NOW)
        self.services.store = store
        self.services.registry.create_schema()
        self.sim = Simulator(config.wechat, flask_transport(create_app(config, self.services)), clock=lambda: NOW)
        self.user = f"o{uuid.uuid4().hex[:10]}"

    def say(self, text: str) -> str:
        reply = self.sim.post(self.sim.text(self.user, text))
        assert reply.status == 200
        return reply.text


@pytest.fixture(params=[False, True], ids=["lexical", "semantic"])
def semantic(request) -> bool:
    if request.param:
        request.getfixturevalue("semantic_model")
    return request.param


@pytest.fixture
def chat(tmp_path: Path, semantic: bool) -> RiderChat:
    from bot.storage.store import connect

    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    return RiderChat(tmp_path, Store(connect(f"memory://{prefix}"), prefix=prefix, state_ttl=1800), semantic)


HEADLINE = [
    # who may join: riders, couriers, drivers, part-timers, 众包 without a station
    ("骑手能入会吗", "join.how"), ("送外卖的能入工会吗", "join.how"), ("快递员可以加入工会吗", "join.how"),
    ("外賣騎手可以參加工會嗎", "join.how"), ("货车司机能入会吗", "join.how"), ("网约车司机可以入会吗", "join.how"),
    ("兼职的能入会吗", "join.how"), ("跑众包没有站点能入会吗", "join.how"),
    # how to join; whether it costs anything; dues and how to pay them
    ("怎么入会", "join.how"), ("入会要钱吗", "dues.join-free"), ("入会免费吗", "dues.join-free"),
    ("加入工会要花钱吗", "dues.join-free"), ("会费多少", "dues.rate"), ("怎么交会费", "dues.rate"),
    ("会费怎么交", "dues.rate"), ("没有单位会费怎么交", "dues.new-form"),
]


@pytest.mark.parametrize(("question", "entry"), HEADLINE)
def test_headline_questions_get_a_direct_answer(chat: RiderChat, question: str, entry: str) -> None:
    assert chat.say(question) == ANSWERS[entry]


def test_the_join_answers_say_yes_free_and_how() -> None:
    for entry in ("join.how", "join.eligibility"):
        answer = ANSWERS[entry]
        assert "免费" in answer and "回复“入会”" in answer
        assert all(who in answer for who in ("外卖骑手", "快递员", "货车司机", "网约车司机", "兼职", "众包"))
    assert ANSWERS["join.how"].startswith("可以")


OFF_TOPIC = ["今天下雨吗", "电动车哪里修", "电瓶车在哪买", "请假条怎么写", "哪里吃饭便宜", "爱奇艺会员怎么退"]


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_get_an_honest_not_found(chat: RiderChat, question: str) -> None:
    reply = chat.say(question)
    assert reply.startswith("这个我不清楚") and "人工" in reply and "12351" in reply
    assert "您是想问哪一个" not in reply
    assert (question, {"none": 1}) in [(row.question, row.outcomes) for row in chat.services.store.unanswered()]


VAGUE = ("入会审核", "工会会员", "审核入会")
"""Questions too vague for one answer: each matcher lists entries for at least one of them."""


def a_list(chat: RiderChat) -> tuple[str, str]:
    """(question, reply) for the first vague question that gets a numbered list."""
    for question in VAGUE:
        reply = chat.say(question)
        if reply.startswith("您是想问哪一个"):
            return question, reply
    raise AssertionError("no vague question got a list")


def test_a_number_the_list_does_not_have_keeps_the_list(chat: RiderChat) -> None:
    _, listed = a_list(chat)
    count = sum(1 for line in listed.splitlines() if line[:2] in ("1.", "2.", "3."))
    wrong = chat.say(str(count + 1))
    assert f"请回复1到{count}之间的数字" in wrong and "1. " in wrong
    picked = chat.say("1")
    assert picked in ANSWERS.values()


def test_a_list_left_unpicked_is_recorded_for_staff(chat: RiderChat) -> None:
    question, _ = a_list(chat)
    # the rider never answers: the question is already in staff's gaps
    assert (question, 1, {"suggest": 1}, {}) in chat.services.store.unanswered()


def record_of(chat: RiderChat, question: str) -> tuple[int, dict[str, int], dict[str, int]]:
    row = next(row for row in chat.services.store.unanswered() if row.question == question)
    return row.count, row.outcomes, row.picks


def test_a_pick_then_a_person_asked_for_are_recorded_for_staff(chat: RiderChat) -> None:
    question, _ = a_list(chat)
    picked = chat.say("1")
    entry_id = next(i for i, answer in ANSWERS.items() if answer == picked)
    assert record_of(chat, question) == (1, {"picked": 1}, {entry_id: 1})  # answered only from the list
    assert "转接工作人员" in chat.say("人工")
    assert record_of(chat, question) == (1, {"human": 1}, {entry_id: 1})  # the pick did not settle it


def test_a_person_asked_for_after_no_answer_is_recorded_for_staff(chat: RiderChat) -> None:
    chat.say(OFF_TOPIC[0])
    chat.say("人工")
    assert record_of(chat, OFF_TOPIC[0]) == (1, {"human": 1}, {})
