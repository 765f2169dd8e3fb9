"""Curation of unanswered questions: actions handle whole groups, handled groups leave the list,
a history says who did what when, and the handled questions become an evaluation set."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.knowledge import write_knowledge

from bot.cli import main
from bot.curation.actions import Curation
from bot.curation.cases import export_cases
from bot.faq.editing import EditError
from bot.faq.knowledge import load_knowledge
from bot.storage.curation import CurationLog, Mark
from bot.storage.store import GapRetention, Store

FAQ = """\
topic: 会员
entries:
  - id: member.leave
    question: 会员怎样办理退会？
    similar:
      - 不想做会员了怎么办
    keywords: [退会]
    answer: 在公众号里申请退会。
  - id: member.dues
    question: 会员需要缴纳会费吗？
    keywords: [会费]
    answer: 入会不收费。
"""


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    return write_knowledge(tmp_path / "k", FAQ)


def asked(store: Store, *rows: tuple[str, int]) -> None:
    for question, times in rows:
        for _ in range(times):
            store.record_unanswered(question, "none")


def test_actions_handle_whole_groups_and_leave_a_history(kdir: Path, store: Store) -> None:
    asked(store, ("退会手续怎么弄", 3), ("退会手续怎么弄？", 1), ("今天天气怎么样", 2), ("哈哈哈", 1),
          ("高温补贴发多少", 2))
    now = [100.0]
    curation = Curation(kdir, store, clock=lambda: now[0])
    assert [g.question for g in curation.open_groups()] == ["退会手续怎么弄", "今天天气怎么样", "高温补贴发多少", "哈哈哈"]

    done = curation.attach("退会手续怎么弄", "member.leave", by="王芳")
    assert done.handled.questions == ("退会手续怎么弄", "退会手续怎么弄？")
    assert (done.published is None) == store.embedded  # published where other processes can read it
    now[0] = 200.0
    curation.out_of_scope("今天天气怎么样", by="李明")
    curation.dismiss("哈哈哈", by="cli")
    assert [g.question for g in curation.open_groups()] == ["高温补贴发多少"]
    asked(store, ("今天天气怎么样", 5))  # asked again: stays out of the list
    assert [g.question for g in curation.open_groups()] == ["高温补贴发多少"]

    history = curation.history()
    assert [(h.action, h.by, h.at) for h in history] == [
        ("dismiss", "cli", 200.0), ("out_of_scope", "李明", 200.0), ("attach", "王芳", 100.0)]
    assert history[2].entry_id == "member.leave" and "退会手续怎么弄" in history[2].summary
    assert "退会手续怎么弄" in load_knowledge(kdir).by_id["member.leave"].similar


def test_a_dismissal_lapses_after_max_age_an_out_of_scope_mark_stays(kdir: Path, store: Store) -> None:
    """A dismissed question that comes back months later is listed again; out of scope is for good."""
    now = [100.0]
    gaps = replace(store, gaps=GapRetention(max_age=1000, max_count=100), clock=lambda: now[0])
    curation = Curation(kdir, gaps, clock=lambda: now[0])
    asked(gaps, ("哈哈哈", 1), ("今天天气怎么样", 1))
    curation.dismiss("哈哈哈", by="cli")
    curation.out_of_scope("今天天气怎么样", by="cli")
    now[0] = 900.0
    asked(gaps, ("哈哈哈", 1), ("今天天气怎么样", 1))
    assert curation.open_groups() == []  # dismissed 800 s ago: still handled
    now[0] = 1100.0
    assert [(g.question, g.count) for g in curation.open_groups()] == [("哈哈哈", 2)]
    assert store.redis.hkeys(store.key("curation", "marks")) == ["今天天气怎么样".encode()]  # forgotten
    assert [h.action for h in curation.history()] == ["out_of_scope", "dismiss"]  # the history keeps both


def test_a_dismissal_from_before_dismissals_lapsed_lapses_max_age_after_it_is_first_read(store: Store) -> None:
    now = [5000.0]
    gaps = replace(store, gaps=GapRetention(max_age=1000, max_count=100), clock=lambda: now[0])
    store.redis.hset(store.key("curation", "marks"), "哈哈哈", json.dumps({"action": "dismiss", "entry_id": None}))
    log = CurationLog(gaps)
    assert log.marks() == {"哈哈哈": Mark("dismiss", None, 5000.0)}
    now[0] = 5999.0
    assert "哈哈哈" in log.marks()
    now[0] = 6000.0
    assert log.marks() == {}


def test_the_history_keeps_the_newest_gaps_history_max_records(kdir: Path, store: Store) -> None:
    curation = Curation(kdir, replace(store, gaps=GapRetention(history_max=3)), clock=lambda: 1.0)
    for question in ("一", "二", "三", "四", "五"):
        curation.dismiss(f"问题{question}", by="cli")
    assert [h.questions for h in curation.history()] == [("问题五",), ("问题四",), ("问题三",)]
    assert store.redis.llen(store.key("curation", "history")) == 3


def test_new_entry_from_a_group(kdir: Path, store: Store) -> None:
    asked(store, ("高温补贴发多少", 2), ("高温补贴发多少钱", 1))
    curation = Curation(kdir, store, clock=lambda: 1.0)
    done = curation.new_entry("高温补贴发多少", entry_id="rights.heat", answer="每月300元。", file="rights",
                              topic="权益", by="王芳")
    assert set(done.handled.questions) == {"高温补贴发多少", "高温补贴发多少钱"}
    assert curation.open_groups() == []
    assert load_knowledge(kdir).by_id["rights.heat"].question == "高温补贴发多少"


def test_a_refused_edit_marks_nothing(kdir: Path, store: Store) -> None:
    asked(store, ("退会手续怎么弄", 1))
    curation = Curation(kdir, store)
    with pytest.raises(EditError, match="没有编号"):
        curation.attach("退会手续怎么弄", "member.nope", by="cli")
    assert [g.question for g in curation.open_groups()] == ["退会手续怎么弄"] and curation.history() == []


def test_cases_export_feeds_faq_eval(kdir: Path, store: Store, tmp_path: Path) -> None:
    asked(store, ("退会手续怎么弄", 2), ("退会手续怎么弄？", 1), ("今天天气怎么样", 1), ("哈哈哈", 1))
    curation = Curation(kdir, store)
    curation.attach("退会手续怎么弄", "member.leave", by="cli")
    curation.out_of_scope("今天天气怎么样", by="cli")
    curation.dismiss("哈哈哈", by="cli")
    text, skipped = export_cases(curation.log.marks(), load_knowledge(kdir).by_id)
    assert skipped == 0
    cases = tmp_path / "cases.yaml"
    cases.write_text(text, encoding="utf-8")
    assert text.splitlines()[2:] == ['- q: "退会手续怎么弄"', "  expect: member.leave",
                                     '- q: "退会手续怎么弄？"', "  expect: member.leave",
                                     '- q: "今天天气怎么样"', "  expect: null"]
    res = CliRunner().invoke(main, ["faq", "eval", "--knowledge", str(kdir), "--cases", str(cases), "--json"])
    assert res.exit_code == 0, res.output
    figures = json.loads(res.stdout)
    assert (figures["cases"], figures["in_scope"], figures["out_of_scope"]) == (3, 2, 1)
    assert figures["top1"] == 1.0 and figures["oos_rejected"] == 1.0


def test_export_leaves_out_entries_that_no_longer_exist(kdir: Path, store: Store) -> None:
    curation = Curation(kdir, store)
    curation.attach("退会手续怎么弄", "member.leave", by="cli")
    text, skipped = export_cases(curation.log.marks(), ["member.dues"])
    assert skipped == 1 and "退会手续怎么弄" not in text


def test_cases_export_command(kdir: Path, store: Store, tmp_path: Path, monkeypatch,
                              request: pytest.FixtureRequest) -> None:
    url = f"memory://{store.prefix}" if store.embedded else request.getfixturevalue("real_redis_url")
    monkeypatch.setenv("UNIONBOT_STORE_URL", url)
    monkeypatch.setenv("UNIONBOT_STORE_KEY_PREFIX", store.prefix)
    asked(store, ("今天天气怎么样", 1), ("退会手续怎么弄", 1))
    runner = CliRunner()
    assert runner.invoke(main, ["faq", "ignore", "今天天气怎么样"]).exit_code == 0
    gaps = runner.invoke(main, ["faq", "gaps"])
    assert "退会手续怎么弄" in gaps.stdout and "今天天气怎么样" not in gaps.stdout
    out = tmp_path / "cases.yaml"
    res = runner.invoke(main, ["faq", "cases", "export", "--knowledge", str(kdir), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert '- q: "今天天气怎么样"\n  expect: null\n' in out.read_text(encoding="utf-8")
    history = runner.invoke(main, ["faq", "history"])
    assert "已标记为不在服务范围内" in history.stdout and "cli" in history.stdout


def test_eval_show_failures(kdir: Path, tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text('- q: "退会"\n  expect: member.leave\n- q: "退会"\n  expect: member.dues\n'
                     '- q: "会费"\n  expect: null\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["faq", "eval", "--knowledge", str(kdir), "--cases", str(cases),
                                    "--show-failures"])
    assert res.exit_code == 0, res.output
    fails = [line for line in res.stdout.splitlines() if line.startswith("FAIL")]
    assert fails == ["FAIL  退会  expected: member.dues  got: answer member.leave",
                     "FAIL  会费  expected: null  got: answer member.dues"]
    as_json = CliRunner().invoke(main, ["faq", "eval", "--knowledge", str(kdir), "--cases", str(cases),
                                        "--show-failures", "--json"])
    assert json.loads(as_json.stdout)["cases"] == 3 and "FAIL  会费" in as_json.stderr
