"""``unionbot faq``: check, try, eval (--json), gaps and its grouping."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from support.knowledge import write_knowledge

from bot.cli import main
from bot.cli.faq import group_gaps
from bot.storage.store import Store

FAQ = """\
topic: 会员
entries:
  - id: member.leave
    question: 会员怎样办理退会？
    similar: [不想做会员了怎么办]
    keywords: [退会]
    answer: 在公众号里申请退会。
  - id: member.dues
    question: 会员需要缴纳会费吗？
    keywords: [会费]
    answer: 入会不收费。
"""


def knowledge(tmp_path: Path, text: str = FAQ) -> Path:
    return write_knowledge(tmp_path / "k", text)


def test_check_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["faq", "check", str(knowledge(tmp_path))])
    assert ok.exit_code == 0 and "2 条问答" in ok.output
    bad = tmp_path / "bad"
    (bad / "faq").mkdir(parents=True)
    (bad / "faq" / "x.yaml").write_text("topic: x\nentries:\n  - id: A B\n    question: q\n    answer: a\n")
    res = runner.invoke(main, ["faq", "check", str(bad)])
    assert res.exit_code == 1 and f"{bad / 'faq' / 'x.yaml'}:3:" in res.output


def test_eval_json(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text("- q: 退会\n  expect: member.leave\n- q: 今天天气怎么样\n  expect: null\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["faq", "eval", "--knowledge", str(knowledge(tmp_path)),
                                    "--cases", str(cases), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) == {"top1", "top3", "wrong", "oos_rejected", "oos_none", "p50_ms", "p99_ms",
                         "cases", "in_scope", "out_of_scope"}
    assert data["cases"] == 2 and data["in_scope"] == 1 and data["out_of_scope"] == 1
    assert data["top1"] == 1.0 and data["oos_rejected"] == 1.0


def test_eval_human_table(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text("- q: 退会\n  expect: member.leave\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["faq", "eval", "--knowledge", str(knowledge(tmp_path)), "--cases", str(cases)])
    assert res.exit_code == 0 and "top1" in res.stdout and "p99_ms" in res.stdout


def test_eval_malformed_cases(tmp_path: Path) -> None:
    k = knowledge(tmp_path)
    runner = CliRunner()
    for body, needle in (("- q: 退会\n  expect: no.such\n", "no.such"), ("- q: [\n", "malformed YAML"),
                         ("- expect: null\n", "missing or empty q"), ("q: x\n", "expected a list")):
        cases = tmp_path / "cases.yaml"
        cases.write_text(body, encoding="utf-8")
        res = runner.invoke(main, ["faq", "eval", "--knowledge", str(k), "--cases", str(cases), "--json"])
        assert res.exit_code != 0 and str(cases) in res.output and needle in res.output, res.output


def test_eval_malformed_knowledge(tmp_path: Path) -> None:
    k = knowledge(tmp_path, "topic: x\nentries: [\n")
    cases = tmp_path / "cases.yaml"
    cases.write_text("- q: 退会\n  expect: null\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["faq", "eval", "--knowledge", str(k), "--cases", str(cases)])
    assert res.exit_code != 0 and "member.yaml" in res.output


def test_try(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["faq", "try", "退汇", "--knowledge", str(knowledge(tmp_path))])
    assert res.exit_code == 0 and "member.leave" in res.output and "退汇→退会" in res.output
    assert "confidence:" in res.output and "answered directly from" in res.output


def test_help_everywhere() -> None:
    for cmd in ("check", "try", "eval", "gaps"):
        assert CliRunner().invoke(main, ["faq", cmd, "--help"]).exit_code == 0


def test_group_gaps_groups_similar_questions() -> None:
    rows = [("高温费有多少", 3, {"none": 2, "human": 1}, {}), ("高温费有多少钱？", 2, {"none": 2}, {}),
            ("共青团怎么加入", 4, {"suggest": 4}, {}), ("高溫費有多少", 1, {"picked": 1}, {"pay.heat": 1}),
            ("社保卡怎么激活", 1, {"none": 1}, {})]
    groups = group_gaps(rows)
    assert [g.question for g in groups] == ["高温费有多少", "共青团怎么加入", "社保卡怎么激活"]
    assert [g.count for g in groups] == [6, 4, 1]
    assert len(groups[0].variants) == 3
    # the asks of the group's wordings, by how they ended, and the entries picked from its lists
    assert groups[0].outcomes == {"none": 4, "picked": 1, "human": 1} and groups[0].picks == {"pay.heat": 1}
    assert groups[0].outcome_text == "4 次没找到答案，1 次选了列表中的一项，1 次之后转了人工"
    assert groups[1].outcome_text == "给了列表但没选"  # every ask ended alike: no counts


def test_gaps_command_reads_the_store(tmp_path: Path, monkeypatch, store: Store) -> None:
    store.record_unanswered("高温费有多少", "none")
    store.record_unanswered("高温费有多少？", "suggest")
    store.follow_up_unanswered("高温费有多少？", "suggest", "picked", "benefits.summer")
    store.record_unanswered("会费怎么交", "none")
    store.follow_up_unanswered("会费怎么交", "none", "human")
    url = f"memory://{store.prefix}" if store.embedded else "redis://127.0.0.1:6379/0"
    if not store.embedded:
        import os

        url = os.environ.get("UNIONBOT_TEST_REDIS_URL", url)
    monkeypatch.setenv("UNIONBOT_STORE_URL", url)
    monkeypatch.setenv("UNIONBOT_STORE_KEY_PREFIX", store.prefix)
    res = CliRunner().invoke(main, ["faq", "gaps", "--clear"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == [
        "    2  高温费有多少  [1 次没找到答案，1 次选了列表中的一项]",
        "       列表里选的：benefits.summer（1 次）",
        "         1 × 高温费有多少？",
        "    1  会费怎么交  [之后转了人工]",
    ]
    assert store.unanswered() == []


def test_eval_times_each_question_with_its_own_embedding(tmp_path: Path, embedded_questions) -> None:
    """The warm-up pass must not leave the timed pass with cached question embeddings."""
    from bot.cli.faq import Case, evaluate
    from bot.faq.knowledge import load_knowledge
    from bot.faq.matcher import Matcher

    m = Matcher(load_knowledge(knowledge(tmp_path)), semantic=True, memo_size=16)
    cases = [Case("会费要交吗", "member.dues"), Case("我不想当会员了", "member.leave"), Case("今天天气怎么样", None)]
    figures = evaluate(m, cases)
    assert figures["cases"] == 3 and figures["top1"] == 1.0
    # the warm-up pass, then each timed match embeds again: neither the results memo nor the
    # question embeddings carried over
    assert len(embedded_questions) == 2 * len(cases)
