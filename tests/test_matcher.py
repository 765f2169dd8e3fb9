"""The matcher: normalisation, typo repair, the three outcomes, explain."""

from __future__ import annotations

import pytest

from bot.faq.knowledge import Entry, Knowledge
from bot.faq.matcher import Matcher
from bot.faq.params import Params
from bot.faq.text import normalize


@pytest.mark.parametrize(("raw", "expected"), [
    ("ＡＢＣ１２３", "abc123"),                   # full width, case
    ("外賣員可以入工會嗎", "外卖员可以入工会吗"),  # traditional -> simplified
    ("会费？！。,.", "会费"),                     # punctuation
    ("骑手要交会费吗😅👍", "骑手要交会费吗"),       # emoji
    ("[微笑]退会", "退会"),                         # WeChat emoji code
    ("你好，请问一下入会要钱吗", "入会要钱吗"),     # polite wrapper
    ("嗯那个我想问下退会啊", "退会"),            # fillers
    ("  入会   申请 ", "入会 申请"),                # whitespace
    ("入会shenhe结果", "入会 shenhe 结果"),         # scripts separated
])
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def _entry(id: str, question: str, answer: str, similar=(), keywords=()) -> Entry:
    return Entry(id=id, question=question, similar=tuple(similar), keywords=tuple(keywords), answer=answer)


KNOWLEDGE = Knowledge.from_entries([
    _entry("member.apply", "怎样申请加入工会？", "在公众号服务大厅申请入会，填写信息后由工会审核。",
           ["入会在哪里申请", "工会怎么加入"], ["申请入会"]),
    _entry("member.dues", "工会会员需要缴纳会费吗？", "入会不收费，会费由工会统一减免。",
           ["入会收不收钱", "会费按什么标准交"], ["会费"]),
    _entry("member.leave", "会员怎样办理退会？", "在公众号会员变更里申请退会，5个工作日办结。",
           ["不想做会员了怎么办"], ["退会"]),
    _entry("rights.pay", "工资被拖欠怎么办？", "保存工资条和聊天记录，拨打12351申请工会协调。",
           ["公司不给结工资", "老板拖欠工资"], ["拖欠工资", "欠薪"]),
    _entry("rights.injury", "送单途中受伤怎么办？", "及时就医，保存病历，可以申请工伤认定或职业伤害保障。",
           ["跑单摔伤了谁来赔"], ["受伤", "工伤"]),
    _entry("post.what", "暖心服务站能做什么？", "暖心服务站免费提供饮水、热饭、手机充电和休息。",
           ["服务站可以休息吗"], ["暖心服务站"]),
], [["暖心服务站", "服务站", "驿站"], ["退会", "退出工会"]])


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(KNOWLEDGE)


def test_answer(matcher: Matcher) -> None:
    r = matcher.match("退会")
    assert r.outcome == "answer" and r.candidates[0].entry_id == "member.leave"


def test_a_repeated_question_is_answered_from_the_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    memo = Matcher(KNOWLEDGE, memo_size=2)
    worked: list[str] = []
    prepare = memo.prepare
    monkeypatch.setattr(memo, "prepare", lambda text: (worked.append(text), prepare(text))[1])
    first = memo.match("退会")
    assert memo.match("退会") == first == Matcher(KNOWLEDGE).match("退会")
    assert worked == ["退会"]
    memo.match("会费")
    memo.match("入会")  # the memo holds two questions: 退会 is forgotten
    memo.match("退会")
    assert worked == ["退会", "会费", "入会", "退会"]


def test_synonym_and_traditional(matcher: Matcher) -> None:
    r = matcher.match("我想退出工會")
    assert r.outcome == "answer" and r.candidates[0].entry_id == "member.leave"


def test_pinyin_typo_is_repaired_from_the_knowledge_vocabulary(matcher: Matcher) -> None:
    prepared, fixes = matcher.prepare("会废按什么标准交")
    assert "会费" in prepared and ("会废", "会费") in fixes
    prepared, fixes = matcher.prepare("公会怎么加入")
    assert prepared.startswith("工会")
    r = matcher.match("会废按啥标准交")
    assert r.candidates and r.candidates[0].entry_id == "member.dues"


def test_spelled_pinyin_and_initials_become_the_knowledge_word(matcher: Matcher) -> None:
    assert matcher.explain("入会shenhe结果")["repairs"] == ["shenhe→审核"]
    assert matcher.explain("入会shh要多久")["repairs"] == ["shh→审核"]  # initials: sh + h


def test_real_words_are_not_repaired(matcher: Matcher) -> None:
    _, fixes = matcher.prepare("网约车司机是不是会员")
    assert fixes == []


def test_a_word_two_entries_share_is_a_suggestion_of_both(matcher: Matcher) -> None:
    r = matcher.match("会员")
    assert r.outcome == "suggest"
    assert {c.entry_id for c in r.candidates} == {"member.leave", "member.dues"}


def test_suggest_lists_at_most_three(semantic_model) -> None:
    """Five entries fit 交会费 about as well as each other: three of them are offered."""
    k = Knowledge.from_entries([_entry(f"dues.{i}", q, "按月交。") for i, q in enumerate(
        ["会费怎么交？", "会费交多少？", "会费可以退吗？", "会费在哪交？", "会费什么时候交？"])])
    r = Matcher(k, semantic=True).match("交会费")
    assert r.outcome == "suggest" and len(r.candidates) == 3


def test_none_for_chat_and_noise(matcher: Matcher) -> None:
    for q in ("您好", "哈哈", "🤔", "。", "[微笑]", "qwer", "明天天气咋样"):
        assert matcher.match(q).outcome == "none", q


@pytest.mark.parametrize("q", ["爱奇艺会员怎么退", "汽车服务站保养多少钱"])
def test_near_miss_is_not_answered(matcher: Matcher, q: str) -> None:
    """An unknown word right before a known term (爱奇艺+会员) blocks a direct answer."""
    assert matcher.match(q).outcome != "answer"
    assert matcher.explain(q)["near_miss"]


def test_an_unknown_thing_asked_about_is_not_answered(matcher: Matcher) -> None:
    """附近有什么好吃的: whatever else matches, no entry is about 好吃的."""
    assert matcher.match("服务站附近有什么好吃的").outcome != "answer"
    assert matcher.explain("服务站附近有什么好吃的")["unknown_object"] == "好吃"
    assert matcher.explain("服务站有什么热饭")["unknown_object"] is None  # 热饭 is in the knowledge
    assert matcher.explain("暖心服务站能做什么")["unknown_object"] is None


def test_a_known_function_bigram_is_weak_evidence_an_unknown_one_is_not() -> None:
    plain = Matcher(KNOWLEDGE, params=Params(function_bigram=1.0))
    weak = Matcher(KNOWLEDGE, params=Params(function_bigram=0.5))
    def weight(m: Matcher, q: str, term: str) -> float:
        return m.explain(q)["terms"][term]

    # 里申 of 入会在哪里申请 is in the knowledge; 吃的 is not
    assert weight(weak, "入会在哪里申请", "里申") == pytest.approx(0.5 * weight(plain, "入会在哪里申请", "里申"),
                                                         abs=1e-4)
    assert weight(weak, "附近有什么好吃的", "吃的") == weight(plain, "附近有什么好吃的", "吃的") > 0


def test_near_miss_ignores_time_words(matcher: Matcher) -> None:
    info = matcher.explain("两年会员怎样办理退会")
    assert info["candidates"][0]["id"] == "member.leave" and info["near_miss"] is None
    assert info["outcome"] == "answer"


def test_repair_fixes_a_typo_next_to_a_weaker_known_word() -> None:
    """交会废: 交会 is a known bigram, but 会费 far more so: the typo is 废, not a word boundary."""
    dues = Knowledge.from_entries([
        _entry("dues", "怎么交会费？", "会费每月交一次，会费标准是工资的0.5%，会费可以在公众号交。",
               ["会费交多少", "不交会费会怎样"], ["会费"]),
    ], [])
    assert Matcher(dues).prepare("不交会废会怎样") == ("不交会费会怎样", [("会废", "会费")])


def test_repair_keeps_a_character_whose_neighbour_is_taken(matcher: Matcher) -> None:
    # 钱工 sounds like 欠工 (from 拖欠工资), but 工 already belongs to 工会
    _, fixes = matcher.prepare("住院的钱工会能报吗")
    assert fixes == []


def test_lexical_only_matcher_answers() -> None:
    m = Matcher(KNOWLEDGE, semantic=False)
    assert m.semantic is None
    r = m.match("我想退出工會")
    assert r.outcome == "answer" and r.candidates[0].entry_id == "member.leave"


def test_explain_lists_components(matcher: Matcher) -> None:
    info = matcher.explain("入汇在哪申请", top=3)
    assert info["repairs"] == ["入汇→入会"]
    assert info["candidates"][0]["id"] == "member.apply"
    assert {"score", "evidence", "coverage", "phrase", "fuzzy", "keyword"} <= set(info["candidates"][0])
    assert len(info["candidates"]) <= 3


def test_empty_knowledge_matches_nothing() -> None:
    assert Matcher(Knowledge.from_entries([])).match("入会").outcome == "none"


def test_decision_model_explains_its_probability(matcher: Matcher) -> None:
    """The lexical answer decision is the calibrated model; explain shows its probability."""
    from bot.faq.decision import DECISION_FEATURES, LEXICAL

    assert len(LEXICAL.weights) == len(DECISION_FEATURES)
    m = Matcher(KNOWLEDGE, semantic=False)
    info = m.explain("退会")
    assert info["outcome"] == "answer" and 0.0 <= info["candidates"][0]["p_answer"] <= 1.0
    # the old hand rule stays available for comparison
    rule = Matcher(KNOWLEDGE, Params(decision="rule"), semantic=False)
    assert rule.match("退会").outcome == "answer"
    assert rule.match("明天天气咋样").outcome == "none"


def test_decision_sample_for_calibration() -> None:
    m = Matcher(KNOWLEDGE, semantic=False)
    s = m.decision_sample("会费怎么交")
    from bot.faq.decision import DECISION_FEATURES

    assert s is not None and s["best"] == "member.dues" and len(s["features"]) == len(DECISION_FEATURES)
    assert m.decision_sample("qwer") is None


def test_clauses_weigh_the_asking_clause_over_a_self_introduction() -> None:
    from bot.faq.index import clauses

    assert clauses("退会") == [("退会", 1.0)]
    # the self-introduction counts less; the clause that asks counts fully
    assert clauses("我是送快递的 入会要钱吗") == [("我是送快递的", 0.3), ("入会要钱吗", 1.0)]
    # a story with no asking clause still counts less than the rest
    assert clauses("我昨天摔了 手骨折了") == [("我昨天摔了", 0.3), ("手骨折了", 1.0)]


def test_a_self_introduction_does_not_steer_the_match(matcher: Matcher) -> None:
    terms = matcher.explain("我是送外卖的，工资被拖欠怎么办")["terms"]
    assert terms["外卖"] < terms["工资"]


def test_question_and_answer_types() -> None:
    from bot.faq.index import answer_types, question_types

    assert question_types("区总工会在哪") == {"where"}
    assert question_types("你们几点下班") == {"when"}
    assert question_types("入会要花钱不") == {"cost"}
    assert question_types("工会座机号码多少") == {"phone"}
    assert question_types("欠薪找谁") == {"who"}
    assert question_types("会费怎么交") == set()
    assert answer_types("建设大道16号二楼，周一至周五9:00—17:30，电话6678 5120") == {"where", "when", "phone"}
    assert answer_types("每次最高5000元") == {"cost"}


def test_entries_carry_the_kind_of_answer_they_give() -> None:
    k = Knowledge.from_entries([
        _entry("desk.contact", "工会的联系方式", "建设大道16号二楼，工作日9:00—17:30。"),
        _entry("member.apply", "工会怎么加入", "在公众号里填写信息申请入会。"),
    ])
    m = Matcher(k, semantic=False)
    info = m.explain("工会在哪")
    assert "~where" in info["terms"]
    assert info["candidates"][0]["id"] == "desk.contact"


def test_novelty_counts_unknown_words_that_modify_a_known_one(matcher: Matcher) -> None:
    def novelty(q: str) -> float:
        return matcher.explain(q)["novelty"]

    assert novelty("交警电话") == 0.0  # 电话 is not in this knowledge
    assert novelty("驾照工资怎么查") == 1.0
    assert novelty("工资被拖欠怎么办") == 0.0
    # in a story clause it counts less
    assert 0.0 < novelty("我在驾照工资，怎么办") < 1.0


def test_a_synonym_word_counts_as_one_concept() -> None:
    """A long canonical word (外卖骑手 for 骑手) must not outweigh the word that says what is asked."""
    k = Knowledge.from_entries([
        _entry("grow.contest", "外卖骑手技能比赛怎么参加？", "报名参加技能比赛，骑手和快递员都可以。"),
        _entry("member.dues", "会员需要缴纳会费吗？", "会费由工会统一减免。", ["会费按什么标准交"], ["会费"]),
    ], [["外卖骑手", "骑手", "送外卖的"]])
    m = Matcher(k, semantic=False)
    assert m.match("骑手要交会费吗").best.entry_id == "member.dues"
    flat = Matcher(k, Params(concept_span=0.0), semantic=False)
    terms, spanned = flat.explain("外卖骑手要交会费吗")["terms"], m.explain("外卖骑手要交会费吗")["terms"]
    assert spanned["卖骑"] == pytest.approx(terms["卖骑"] * 3 ** -Params().concept_span, abs=1e-4)
    assert spanned["会费"] == pytest.approx(terms["会费"])


def test_a_separable_word_split_by_an_aspect_particle_is_still_the_word() -> None:
    k = Knowledge.from_entries([
        _entry("member.again", "换了单位要重新入会吗？", "会籍随转。", [], ["入会"]),
        _entry("member.dues", "会员需要缴纳会费吗？", "按月交。", [], ["会费"]),
    ], [])
    m = Matcher(k, semantic=False)
    def terms(q: str) -> dict[str, float]:
        return m.explain(q)["terms"]

    assert "入会" in terms("以前入过会了") and terms("以前入过会了")["入会"] == terms("以前入会了")["入会"]
    assert "入会" in terms("入了会还要交钱吗")
    assert "开会" not in terms("开过会")  # only words the knowledge uses


def test_a_term_in_more_phrasings_is_more_central_to_the_entry() -> None:
    k = Knowledge.from_entries([
        _entry("a", "怎样申请入会？", "填写信息。", ["入会在哪申请", "入会流程"], ["申请入会"]),
        _entry("b", "会员身份怎么查？", "公众号查看。", ["入会批下来没有"]),
    ])
    m = Matcher(k, Params(focus=0.2), semantic=False)
    info = m.explain("入会")
    w = info["terms"]
    evidence = {c["id"]: c["evidence"] for c in info["candidates"]}
    # a: 入, 会 and 入会 in all four phrasings and keywords; b: 会 in both of its phrasings, 入 and
    # 入会 in one of two (strength 1 + focus * (share - 0.5))
    assert evidence["a"] == pytest.approx((1.0 + 0.2 * (4 / 4 - 0.5)) * (w["入"] + w["会"] + w["入会"]), abs=2e-3)
    assert evidence["b"] == pytest.approx(w["入"] + (1.0 + 0.2 * (2 / 2 - 0.5)) * w["会"] + w["入会"], abs=2e-3)
    flat = Matcher(k, Params(focus=0.0), semantic=False).explain("入会")["candidates"]
    assert flat[0]["evidence"] == pytest.approx(flat[1]["evidence"])
