"""Long messages are cut at the shell: the matcher, its memo and the handlers see a bounded text."""

from __future__ import annotations

import tracemalloc
import uuid
from pathlib import Path

from bot.config import Config, DatabaseConfig, KnowledgeConfig, StoreConfig, WechatConfig
from bot.core.conversation import Incoming
from bot.core.router import route as real_route
from bot.services import Services
from bot.web.app import create_app
from bot.web.webhook import TEXT_KEEP, bounded
from bot.wechat.simulator import Simulator, flask_transport

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


def make_bot(tmp_path: Path) -> tuple[Services, Simulator, list[str]]:
    config = Config(
        wechat=WechatConfig(token="memory-token"),
        store=StoreConfig(url=f"memory://{uuid.uuid4().hex}"),
        database=DatabaseConfig(url=f"sqlite:///{tmp_path / 'bot.db'}"),
        knowledge=KnowledgeConfig(dir=str(KNOWLEDGE), semantic="off"),
    )
    seen: list[str] = []

    def recording_route(state, message, ctx):
        seen.append(message.text)
        return real_route(state, message, ctx)

    services = Services.from_config(config, route=recording_route)
    return services, Simulator(config.wechat, flask_transport(create_app(config, services))), seen


def test_a_very_long_question_is_cut_and_still_answered(tmp_path: Path) -> None:
    services, sim, seen = make_bot(tmp_path)
    short = sim.post(sim.text("long1", "会费怎么交？")).text
    assert sim.post(sim.text("long2", "会费怎么交？" + "嗯" * 15_000)).text == short  # the start is kept
    assert sim.post(sim.text("long3", "哈" * 15_000 + "请问会费怎么交？")).text == short  # and the end
    assert max(len(text) for text in seen) <= sum(TEXT_KEEP) + 1


def test_many_long_questions_do_not_grow_the_matcher_by_their_length(tmp_path: Path) -> None:
    services, _, _ = make_bot(tmp_path)
    matcher = services.context().faq()

    def growth(filler: str, first: int) -> int:
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for i in range(first, first + 100):  # distinct questions, each remembered by the match memo
                matcher.match(bounded(Incoming(user="u", kind="text", text=f"第{i}个问题：{filler}")).text)
            return tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()

    medium = growth("工资" * 300, 10_000)  # 600 characters: just over the cut
    long = growth("工资" * 7_500, 20_000)  # 15,000 characters each: 3 MB of text in all, uncut
    assert long - medium < 100_000, (medium, long)  # what is remembered does not grow with the length
