"""Knowledge files: validation names file and line; hot reload keeps the last good version."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.faq.knowledge import KnowledgeError, KnowledgeSource, check_knowledge, load_knowledge
from bot.faq.matcher import Matcher

GOOD = """\
topic: 会员
entries:
  - id: member.dues
    question: 会员需要缴纳会费吗？
    similar:
      - 入会收不收钱
    keywords: [会费]
    answer: |
      申请入会不收取任何费用。
  - id: member.leave
    question: 会员怎样办理退会？
    answer: 在公众号里申请退会。
"""


def write(root: Path, name: str, text: str) -> Path:
    path = root / "faq" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_loads_entries_with_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "member.yaml", GOOD)
    (tmp_path / "synonyms.yaml").write_text("- [入会, 加入工会]\n", encoding="utf-8")
    (tmp_path / "stations.yaml").write_text("not: [for, us\n", encoding="utf-8")  # ignored
    k = load_knowledge(tmp_path)
    assert [e.id for e in k.entries] == ["member.dues", "member.leave"]
    dues = k.by_id["member.dues"]
    assert dues.similar == ("入会收不收钱",) and dues.keywords == ("会费",)
    assert dues.answer == "申请入会不收取任何费用。" and dues.topic == "会员"
    assert dues.line == 3 and dues.file.endswith("member.yaml")
    assert k.synonyms == (("入会", "加入工会"),)
    assert k.fingerprint


@pytest.mark.parametrize(("text", "line", "needle"), [
    ("topic: x\nentries:\n  - id: a\n    question: q\n    answer: a\n    anser: typo\n", 6, "unknown key 'anser'"),
    ("topic: x\nentries:\n  - id: a\n    answer: a\n", 3, "missing required 'question'"),
    ("topic: x\nentries:\n  - id: a\n    question: ''\n    answer: a\n", 4, "question is empty"),
    ("topic: x\nentries:\n  - id: Bad Id\n    question: q\n    answer: a\n", 3, "bad id 'Bad Id'"),
    ("topic: x\nentries:\n  - id: a\n    question: q\n    answer: " + "长" * 700 + "\n", 3, "2100 bytes"),
    ("topic: x\nentries:\n  - id: a\n    question: [q\n    answer: a\n", 5, "malformed YAML"),
    ("topic: x\ncolour: red\nentries: []\n", 2, "unknown key 'colour'"),
])
def test_problems_name_file_and_line(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = write(tmp_path, "bad.yaml", text)
    problems = check_knowledge(tmp_path)
    assert any(p.startswith(f"{path}:{line}:") and needle in p for p in problems), problems


def test_duplicate_ids_reported_at_both_places(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "topic: a\nentries:\n  - id: same\n    question: 一\n    answer: x\n")
    b = write(tmp_path, "b.yaml", "topic: b\nentries:\n  - {id: other, question: 二, answer: y}\n"
              "  - id: same\n    question: 三\n    answer: z\n")
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(tmp_path)
    text = "\n".join(info.value.problems)
    assert f"{a}:3: duplicate id 'same'" in text and f"{b}:4: duplicate id 'same'" in text


def test_same_question_under_two_entries(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "topic: a\nentries:\n  - {id: a, question: 怎么入会？, answer: x}\n"
          "  - id: b\n    question: 别的\n    similar: [怎么 入会]\n    answer: y\n")
    problems = check_knowledge(tmp_path)
    assert any(":4:" in p and "also asked under 'a'" in p for p in problems), problems


def test_source_reloads_on_change_and_keeps_last_good(tmp_path: Path) -> None:
    path = write(tmp_path, "member.yaml", GOOD)
    now = [0.0]
    source = KnowledgeSource(tmp_path, Matcher, reload_interval=2.0, clock=lambda: now[0])
    first = source.matcher()
    assert first is not None and source.last_error is None
    path.write_text(GOOD.replace("在公众号里申请退会。", "到服务中心窗口办理退会手续。"), encoding="utf-8")
    now[0] = 1.0
    assert source.matcher() is first  # not yet: checked at most every reload_interval
    now[0] = 2.5
    second = source.matcher()
    assert second is not first
    assert second.knowledge.by_id["member.leave"].answer == "到服务中心窗口办理退会手续。"
    path.write_text(GOOD + "  - id: broken\n    question: [\n", encoding="utf-8")
    now[0] = 5.0
    assert source.matcher() is second
    assert source.last_error and str(path) in source.last_error


def test_first_load_broken_serves_nothing(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "topic: [\n")
    source = KnowledgeSource(tmp_path, Matcher, clock=lambda: 0.0)
    assert source.matcher() is None and source.last_error


WORKER = """
import json, sys, time
from bot.faq.knowledge import KnowledgeSource
from bot.faq.matcher import Matcher
source = KnowledgeSource(sys.argv[1], lambda k: Matcher(k, semantic=False), reload_interval=0.1)
out = sys.argv[2]
while True:
    m = source.matcher()
    answer = m.knowledge.by_id["member.leave"].answer if m else None
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"answer": answer, "error": source.last_error}, f, ensure_ascii=False)
    import os; os.replace(tmp, out)
    time.sleep(0.05)
"""


def _wait_for(paths: list[Path], predicate, timeout: float = 60.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    states: list[dict] = []
    while time.monotonic() < deadline:
        try:
            states = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
        except (OSError, ValueError):
            states = []
        if len(states) == len(paths) and all(predicate(s) for s in states):
            return states
        time.sleep(0.05)
    raise AssertionError(f"workers did not converge: {states}")


def test_two_processes_pick_up_edits_and_survive_a_broken_file(tmp_path: Path) -> None:
    kdir = tmp_path / "knowledge"
    path = write(kdir, "member.yaml", GOOD)
    status = [tmp_path / "w1.json", tmp_path / "w2.json"]
    root = Path(__file__).resolve().parents[1]
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(kdir), str(s)], cwd=root) for s in status]
    try:
        _wait_for(status, lambda s: s["answer"] == "在公众号里申请退会。")
        path.write_text(GOOD.replace("在公众号里申请退会。", "新的退会办法。"), encoding="utf-8")
        _wait_for(status, lambda s: s["answer"] == "新的退会办法。" and s["error"] is None)
        path.write_text(GOOD.replace("在公众号里申请退会。", "坏的") + "  - id: [\n", encoding="utf-8")
        states = _wait_for(status, lambda s: s["error"] is not None)
        assert all(s["answer"] == "新的退会办法。" for s in states)
        assert all(str(path) in s["error"] for s in states)
    finally:
        for p in procs:
            p.kill()
            p.wait()
