"""The matcher on our own shipped knowledge, with hand-written rider questions
(tests/cases_shipped.yaml), lexical and, when the optional model is installed, semantic."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.faq import evaluate, load_cases
from bot.faq.decision import SEMANTIC_FEATURES
from bot.faq.knowledge import load_knowledge
from bot.faq.matcher import Matcher

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge(ROOT / "knowledge")


@pytest.mark.parametrize("semantic", [False, True], ids=["lexical", "semantic"])
def test_shipped_knowledge_cases(knowledge, semantic: bool, request) -> None:
    if semantic:
        request.getfixturevalue("semantic_model")
    m = Matcher(knowledge, semantic=semantic)
    cases = load_cases(ROOT / "tests" / "cases_shipped.yaml", knowledge.by_id)
    r = evaluate(m, cases)
    assert r["wrong"] <= 0.03, r
    assert r["oos_rejected"] >= 0.9, r
    assert r["top1"] >= 0.85, r
    assert r["top3"] >= 0.95, r


def test_semantic_rescues_a_paraphrase_without_shared_words(knowledge, semantic_model) -> None:
    m = Matcher(knowledge, semantic=True)
    assert m.semantic is not None
    info = m.explain("我不想当会员了，怎么退出工会")
    assert info["semantic"] and "semantic" in info["candidates"][0]
    assert m.match("我不想当会员了，怎么退出工会").best.entry_id == "join.leave"


def test_semantic_decision_is_the_calibrated_model(knowledge, semantic_model) -> None:
    """With the meaning signal the decision is its own fitted model, over lexical and meaning
    features of the entry the fused ranking puts first."""
    m = Matcher(knowledge, semantic=True)
    s = m.decision_sample("会费一个月交多少")
    assert s is not None and len(s["features"]) == len(SEMANTIC_FEATURES) and s["best"] == "dues.rate"
    info = m.explain("会费一个月交多少")
    assert info["outcome"] == "answer" and info["candidates"][0]["p_answer"] >= m.params.semantic_threshold
    # something the knowledge does not cover is not answered however close its words are
    assert m.match("爱奇艺会员怎么退").outcome != "answer"


@pytest.mark.parametrize("semantic", [False, True], ids=["lexical", "semantic"])
def test_an_entrys_own_phrasings_are_answered_with_it(knowledge, semantic: bool, request) -> None:
    """A question that is one of an entry's phrasings once normalised (怎么入会 is 怎么加入工会
    after the synonyms) gets that entry, whatever the decision model makes of its neighbours."""
    if semantic:
        request.getfixturevalue("semantic_model")
    m = Matcher(knowledge, semantic=semantic)
    for q, expect in [("怎么入会", "join.how"), ("怎么加入工会？", "join.how"), ("退会", "join.leave")]:
        r = m.match(q)
        assert r.outcome == "answer" and r.best.entry_id == expect, (q, r)
    results = {(q, e.id): m.match(q) for e in knowledge.entries for q in (e.question, *e.similar)}
    missed = [(q, i) for (q, i), r in results.items() if r.outcome != "answer" or r.best.entry_id != i]
    # 转人工服务 and 客服在吗 normalise to 人工, the command that reaches a person (handled before the FAQ)
    assert {q for q, _ in missed} <= {"转人工服务", "客服在吗"}, missed


def test_semantic_closeness_mixes_closest_phrasing_mean_and_answer(knowledge, semantic_model) -> None:
    """An entry's closeness is the weighted mean of its closest phrasing's cosine, its phrasings'
    mean cosine and its answer's, by the weights given; (1, 0, 0) is the closest phrasing alone."""
    import numpy as np

    from bot.faq.semantic import SemanticIndex, embed, embed_query

    entries = knowledge.entries[:6]
    q = "我不想当会员了，怎么退出工会"
    vec = embed_query(q)
    cos = [embed([("query", t) for t in e.phrasings]) @ vec for e in entries]
    answer = embed([("passage", e.answer.strip()) for e in entries]) @ vec
    mixed = SemanticIndex(entries, (1.0, 0.5, 1.0)).similarities(q)
    expected = [(c.max() + 0.5 * c.mean() + a) / 2.5 for c, a in zip(cos, answer, strict=True)]
    assert np.allclose(mixed, expected, atol=1e-5)
    closest = SemanticIndex(entries, (1.0, 0.0, 0.0)).similarities(q)
    assert np.allclose(closest, [c.max() for c in cos], atol=1e-5)


def test_question_tail_keeps_the_longest_tail_within_the_budget() -> None:
    """Counting characters plus an overhead of 5: the tail has budget - 5 characters; a short
    question is kept whole; a huge one is searched only near its end."""
    from bot.faq.semantic import question_tail

    seen: list[int] = []

    def count(text: str) -> int:
        seen.append(len(text))
        return len(text) + 5

    assert question_tail("会费怎么交", count, budget=12) == "会费怎么交"
    text = "我在工地干了三个月老板不发工资" * 700
    seen.clear()
    assert question_tail(text, count, budget=12) == text[-7:]
    assert max(seen[1:]) <= 4 * 12  # after the first count, only the last 48 characters are looked at


def test_a_long_message_is_embedded_by_its_tail_within_the_token_budget(embedded_questions) -> None:
    """A message of hundreds of characters costs the model no more than QUESTION_TOKENS tokens:
    what it embeds is the message's tail, and a short question is embedded whole."""
    from bot.faq import semantic

    model = semantic._get_model()  # the recording one: token_count passes through
    long_message = "嗯那个我在厂里干了三个多月了就是工资一直压着不发说是资金周转不过来" * 20 + "工会能不能管"
    semantic.embed_query(long_message)
    semantic.embed_query("会费怎么交")
    tail, short = embedded_questions
    assert long_message.endswith(tail) and tail.endswith("工会能不能管")
    assert model.token_count(tail, True) <= semantic.QUESTION_TOKENS < model.token_count(long_message, True)
    # the longest such tail: one more character would be over the budget
    assert model.token_count(long_message[-len(tail) - 1:], True) > semantic.QUESTION_TOKENS
    assert short == "会费怎么交"


# Held-out sets written without running the matcher (bench/evalsets): two other unions' knowledge and
# hard rider questions for ours. Floors sit a little under the figures measured when the matcher was
# last calibrated (docs/matcher.md), so a change that makes answers worse on knowledge the matcher
# was not tuned on fails here.
# With the meaning signal, 临江 and the hard cases were fitted on (bench/calibrate_matcher.py):
# their floors guard against regressions there, 铜山's against worse transfer.
HELD_OUT = {
    ("linjiang", False): {"top1": 0.74, "top3": 0.96, "wrong": 0.025, "oos_rejected": 0.90},
    ("tongshan", False): {"top1": 0.70, "top3": 0.90, "wrong": 0.06, "oos_rejected": 0.825},
    # 2026-12-01: three more similar questions per shipped entry raised lexical top1 here from 0.596
    # to 0.696 and top3 from 0.857 to 0.888, and let two more of the 41 out-of-scope questions through
    # (oos_rejected 0.878 -> 0.829): a trade made on purpose, see docs/matcher.md
    ("shipped-hard", False): {"top1": 0.67, "top3": 0.87, "wrong": 0.04, "oos_rejected": 0.80},
    ("linjiang", True): {"top1": 0.74, "top3": 0.97, "wrong": 0.015, "oos_rejected": 0.90},
    # The off-topic list rule (bot/faq/offtopic.py) turned three 铜山 lists into honest "not found"
    # (semantic top3 0.961 -> 0.942) while its oos_none rose 0.275 -> 0.400: a trade made on purpose
    ("tongshan", True): {"top1": 0.72, "top3": 0.94, "wrong": 0.02, "oos_rejected": 0.875},
    ("shipped-hard", True): {"top1": 0.72, "top3": 0.90, "wrong": 0.035, "oos_rejected": 0.92},
}
KNOWLEDGE_OF = {"linjiang": ROOT / "bench/evalsets/linjiang/knowledge",
                "tongshan": ROOT / "bench/evalsets/tongshan/knowledge", "shipped-hard": ROOT / "knowledge"}


DEV_FLOORS = {False: {"top1": 0.77, "top3": 0.96, "wrong": 0.02, "oos_rejected": 0.95},
              True: {"top1": 0.82, "top3": 0.97, "wrong": 0.02, "oos_rejected": 0.95}}
"""The public dev set (shared/eval/dev, beside the checkout), a little under the measured figures."""


@pytest.mark.parametrize("semantic", [False, True], ids=["lexical", "semantic"])
def test_public_dev_set_stays_above_its_floor(dev_set: Path, semantic: bool, request) -> None:
    if semantic:
        request.getfixturevalue("semantic_model")
    knowledge = load_knowledge(dev_set / "knowledge")
    r = evaluate(Matcher(knowledge, semantic=semantic), load_cases(dev_set / "cases.yaml", knowledge.by_id))
    floor = DEV_FLOORS[semantic]
    assert r["wrong"] <= floor["wrong"], r
    for key in ("top1", "top3", "oos_rejected"):
        assert r[key] >= floor[key], (key, r)


@pytest.mark.parametrize(("name", "semantic"), sorted(HELD_OUT), ids=lambda v: {True: "semantic", False: "lexical"}.get(v, v))
def test_held_out_sets_stay_above_their_floors(name: str, semantic: bool, request) -> None:
    if semantic:
        request.getfixturevalue("semantic_model")
    floor = HELD_OUT[(name, semantic)]
    knowledge = load_knowledge(KNOWLEDGE_OF[name])
    cases = load_cases(ROOT / "bench/evalsets" / name / "cases.yaml", knowledge.by_id)
    r = evaluate(Matcher(knowledge, semantic=semantic), cases)
    assert r["wrong"] <= floor["wrong"], r
    for key in ("top1", "top3", "oos_rejected"):
        assert r[key] >= floor[key], (key, r)
