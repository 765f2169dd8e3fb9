"""The FAQ handler: answer, numbered suggestions and picks, honest none, unanswered effects."""

from __future__ import annotations

import pytest
from support.messages import USER, event, text

from bot.core.conversation import Context, Effect, Incoming
from bot.faq.knowledge import Entry, Knowledge
from bot.faq.matcher import Candidate, MatchResult
from handlers.faq import HUMAN_AFTER, handle, parse_pick

ENTRIES = [Entry(id=f"e{i}", question=f"问题{i}", answer=f"答案{i}") for i in range(1, 4)]
KNOWLEDGE = Knowledge.from_entries(ENTRIES)


class FakeMatcher:
    """Stands in for bot.faq.matcher.Matcher: a fixed result per question."""

    def __init__(self, results: dict[str, MatchResult]) -> None:
        self.knowledge = KNOWLEDGE
        self.results = results
        self.asked: list[str] = []

    def match(self, text: str) -> MatchResult:
        self.asked.append(text)
        return self.results.get(text, MatchResult("none"))


def cand(i: int) -> Candidate:
    return Candidate(f"e{i}", f"问题{i}", 1.0)


RESULTS = {
    "直接": MatchResult("answer", (cand(2),)),
    "含糊": MatchResult("suggest", (cand(1), cand(2), cand(3))),
}


def ctx(matcher=None) -> Context:
    m = matcher or FakeMatcher(RESULTS)
    return Context(hotline="12351", faq=lambda: m)


def test_answer() -> None:
    out = handle({}, text("直接"), ctx())
    assert out.replies == ("答案2",)
    assert out.effects == (Effect("count_question", {"outcome": "answered", "at": 0.0, "user": USER, "text": "直接"}),)


def test_voice_recognition_is_matched() -> None:
    out = handle({}, text("直接", kind="voice"), ctx())
    assert out.replies == ("答案2",)


def test_not_text_like_or_no_matcher_is_not_ours() -> None:
    assert handle({}, Incoming(user="u", kind="voice", text=""), ctx()) is None
    assert handle({}, Incoming(user="u", kind="image"), ctx()) is None
    assert handle({}, text("直接"), Context(faq=None)) is None


def test_no_knowledge_loaded_says_so_and_keeps_the_question() -> None:
    """Knowledge that never loaded (a wrong knowledge.dir, a broken first file): not the help
    menu's "ask me anything", but an honest reply with the way to a person, and a gap record."""
    out = handle({}, text("会费怎么交"), Context(hotline="12351", faq=lambda: None))
    assert "暂时" in out.replies[0] and "人工" in out.replies[0] and "12351" in out.replies[0]
    assert out.effects[0] == Effect("record_unanswered", {"question": "会费怎么交", "outcome": "none"})
    assert [(e.kind, e.data["outcome"]) for e in out.effects[1:]] == [("count_question", "not_found")]


def test_suggest_then_pick() -> None:
    out = handle({"flow": None}, text("含糊"), ctx())
    reply = out.replies[0]
    assert "1. 问题1" in reply and "2. 问题2" in reply and "3. 问题3" in reply and "回复数字查看" in reply
    assert out.state["suggestions"] == ["e1", "e2", "e3"]
    assert out.state["gap"] == {"q": "含糊", "outcome": "suggest", "at": 0.0}
    # recorded when shown: the worker may never pick (nor write again)
    assert out.effects == (Effect("record_unanswered", {"question": "含糊", "outcome": "suggest"}),
                           Effect("count_question", {"outcome": "list", "at": 0.0, "user": USER, "text": "含糊"}))
    picked = handle(out.state, text("２"), ctx())
    assert picked.replies == ("答案2",)
    assert "suggestions" not in picked.state
    # still a gap (the worker had to pick): the listed question's ask ended as picked, with the entry
    assert picked.effects == (Effect("follow_up_unanswered", {"question": "含糊", "was": "suggest",
                                                              "outcome": "picked", "entry": "e2"}),)
    assert picked.state["gap"]["outcome"] == "picked"


def test_a_pick_from_a_list_without_a_remembered_question_only_answers() -> None:
    """A list shown by a version that did not remember its question: answered, nothing followed up."""
    out = handle({"suggestions": ["e1", "e2"], "suggested_for": "含糊"}, text("1"), ctx())
    assert out.replies == ("答案1",) and out.effects == () and out.state == {}


def test_the_remembered_question_is_masked() -> None:
    """State holds no full mobile or ID number: the question is remembered as the store keeps it."""
    asked = "我手机13812345678的高温费呢"
    out = handle({}, text(asked), ctx())
    assert out.state["gap"]["q"] == "我手机138****5678的高温费呢"
    assert out.effects[0] == Effect("record_unanswered", {"question": asked, "outcome": "none"})


def test_a_question_answered_directly_forgets_the_earlier_unanswered_one() -> None:
    missed = handle({}, text("高温费有多少"), ctx())
    assert missed.state["gap"]["outcome"] == "none"
    assert "gap" not in handle(missed.state, text("直接"), ctx()).state


@pytest.mark.parametrize(("reply", "pick"), [
    ("1", 1), ("１", 1), ("②", 2), ("第二个", 2), ("第3条", 3), (" 3 ", 3), ("三", 3),
    ("12351", None), ("入会", None), ("", None),
])
def test_parse_pick(reply: str, pick: int | None) -> None:
    assert parse_pick(reply) == pick


def test_not_a_pick_moves_on_without_recording_the_list_again() -> None:
    state = {"suggestions": ["e1", "e2", "e3"], "gap": {"q": "含糊", "outcome": "suggest", "at": 0.0}}
    out = handle(state, text("直接"), ctx())
    assert out.replies == ("答案2",) and [e.kind for e in out.effects] == ["count_question"]
    assert "suggestions" not in out.state


def test_out_of_range_number_says_which_are_valid_and_keeps_the_list() -> None:
    state = {"suggestions": ["e1", "e2"], "gap": {"q": "含糊", "outcome": "suggest", "at": 0.0}}
    out = handle(state, text("9"), ctx())
    assert "1到2" in out.replies[0] and "1. 问题1" in out.replies[0] and "2. 问题2" in out.replies[0]
    assert out.state == state and out.effects == ()
    assert handle(out.state, text("2"), ctx()).replies == ("答案2",)


def test_none_is_honest_and_recorded() -> None:
    out = handle({}, text("高温费有多少"), ctx())
    assert "没找到" in out.replies[0] and "人工" in out.replies[0] and "12351" in out.replies[0]
    assert out.effects[0] == Effect("record_unanswered", {"question": "高温费有多少", "outcome": "none"})
    assert [(e.kind, e.data["outcome"]) for e in out.effects[1:]] == [("count_question", "not_found")]


def test_with_real_matcher() -> None:
    from bot.faq.matcher import Matcher

    k = Knowledge.from_entries([Entry(id="leave", question="会员怎样办理退会？", keywords=("退会",),
                                      answer="在公众号里申请退会。")])
    m = Matcher(k)
    assert handle({}, text("退会"), Context(faq=lambda: m)).replies == ("在公众号里申请退会。",)
    assert "没找到" in handle({}, text("您好"), Context(faq=lambda: m)).replies[0]


# -- through the router: small talk, and a list that another handler's reply made stale --


SUGGESTED = {"suggestions": ["e1", "e2", "e3"], "gap": {"q": "含糊", "outcome": "suggest", "at": 0.0}}


@pytest.mark.parametrize(("message", "expected"), [
    ("你好", "您好，这里是"), ("您好，在吗？", "您好，这里是"), ("有人吗", "您好，这里是"), ("hello", "您好，这里是"),
    ("谢谢", "不客气"), ("謝謝！", "不客气"), ("好的谢谢", "不客气"), ("辛苦了", "不客气"),
    ("拜拜", "再见"), ("好的👌", "好的。"), ("嗯嗯", "好的。"), ("ok", "好的。"),
    ("？？？", "您好，这里是"), ("?", "您好，这里是"), ("😂😂", "好的。"),
])
def test_small_talk_gets_a_friendly_word_and_no_gap(message: str, expected: str) -> None:
    from bot.core.router import route

    m = FakeMatcher(RESULTS)
    for kind in ("text", "voice"):
        out = route({}, text(message, kind=kind), ctx(m))
        assert out.replies[0].startswith(expected), (message, out.replies)
        assert out.effects == ()  # nothing was asked: not an unanswered question for the staff
    assert m.asked == []


def test_a_question_after_a_greeting_is_still_answered() -> None:
    from bot.core.router import route
    from bot.faq.matcher import Matcher

    k = Knowledge.from_entries([Entry(id="dues", question="会员需要缴纳会费吗？", keywords=("会费",), answer="入会不收费。")])
    m = Matcher(k, semantic=False)
    out = route({}, text("你好，请问会费怎么交"), Context(hotline="12351", faq=lambda: m))
    assert out.replies == ("入会不收费。",)


def test_a_list_is_forgotten_once_another_handler_answers() -> None:
    from bot.core.router import route

    c = ctx()
    out = route(dict(SUGGESTED), text("谢谢"), c)
    assert out.replies[0].startswith("不客气")
    assert "suggestions" not in out.state
    assert out.effects == ()  # recorded when it was shown
    later = route(out.state, text("2"), c)
    assert later.replies[0].startswith("现在没有待选的问题")  # 2 is no longer a pick
    human = route(dict(SUGGESTED), text("人工"), c)
    assert human.transfer_to_human and "suggestions" not in human.state


def test_an_event_in_between_keeps_the_list() -> None:
    from bot.core.router import route

    c = ctx()
    receipt = event("templatesendjobfinish")
    out = route(dict(SUGGESTED), receipt, c)
    assert out.state == SUGGESTED and out.effects == ()
    assert route(out.state, text("2"), c).replies == ("答案2",)


def test_a_number_without_a_list_is_not_matched_as_a_question() -> None:
    """A 2 typed after the list was forgotten (or when the knowledge lost that entry) asks for the
    question again; the matcher never sees it (a keyword like 2% would answer it)."""
    m = FakeMatcher({"2": MatchResult("answer", (cand(1),))})
    for state in ({}, {"suggestions": ["gone", "gone.too"], "gap": {"q": "含糊", "outcome": "suggest", "at": 0.0}}):
        out = handle(state, text("2"), ctx(m))
        assert out.replies[0].startswith("现在没有待选的问题") and "人工" in out.replies[0]
        assert "suggestions" not in out.state and out.effects == ()
    assert m.asked == []


# -- 人工 afterwards: the question the bot left unanswered ends as 人工 --------------------------


def followed_up(out) -> list[tuple[str, str, str]]:
    return [(e.data["question"], e.data["was"], e.data["outcome"]) for e in out.effects
            if e.kind == "follow_up_unanswered"]


def talk(*messages: tuple[float, str]) -> list:
    """Route ``(seconds, text)`` messages through one conversation; the outcome of each."""
    from bot.core.router import route

    m, state, outcomes = FakeMatcher(RESULTS), {}, []
    for at, body in messages:
        out = route(state, text(body), Context(hotline="12351", faq=lambda: m, now=at))
        state = out.state
        outcomes.append(out)
    return outcomes


@pytest.mark.parametrize(("conversation", "expected"), [
    ([(0, "高温费有多少"), (60, "人工")], [("高温费有多少", "none", "human")]),
    ([(0, "含糊"), (60, "人工")], [("含糊", "suggest", "human")]),
    ([(0, "含糊"), (300, "2"), (800, "人工")], [("含糊", "picked", "human")]),  # the window starts at the pick
    ([(0, "高温费有多少"), (20, "谢谢"), (90, "人工")], [("高温费有多少", "none", "human")]),
])
def test_a_person_asked_for_soon_after_marks_the_unanswered_question(conversation, expected) -> None:
    outcomes = talk(*conversation)
    assert followed_up(outcomes[-1]) == expected
    assert outcomes[-1].transfer_to_human and "gap" not in outcomes[-1].state


@pytest.mark.parametrize("conversation", [
    [(0, "高温费有多少"), (HUMAN_AFTER + 1, "人工")],  # too long after: another matter
    [(0, "高温费有多少"), (10, "直接"), (20, "人工")],  # about the question answered since
    [(0, "直接"), (10, "人工")],
    [(0, "人工")],
])
def test_a_person_asked_for_otherwise_marks_nothing(conversation) -> None:
    assert followed_up(talk(*conversation)[-1]) == []


def test_a_second_person_request_marks_the_question_once() -> None:
    outcomes = talk((0, "高温费有多少"), (10, "人工"), (20, "人工"))
    assert [len(followed_up(o)) for o in outcomes] == [0, 1, 0]
