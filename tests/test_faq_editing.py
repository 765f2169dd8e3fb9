"""Program edits of the knowledge YAML: one line changes, invalid edits are refused with their
reason, a concurrent edit is never overwritten, and the CLI says all this in Chinese."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.knowledge import write_knowledge

from bot.cli import main
from bot.faq.editing import EditConflict, EditError, plan_attach, plan_new_entry, save
from bot.faq.knowledge import load_knowledge

SHIPPED = Path(__file__).resolve().parents[1] / "knowledge"

FAQ = """\
# 会员 · comments and blank lines must survive
topic: 会员
entries:
  - id: member.leave
    question: 会员怎样办理退会？   # trailing comment
    similar:
      - 不想做会员了怎么办
      - '单引号 的问法'
    keywords: [退会, "12351"]
    answer: |
      在公众号里申请退会。
      也可以到服务站办理。

  - id: member.dues
    question: 会员需要缴纳会费吗？
    keywords: [会费]
    answer: 入会不收费。
"""


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    return write_knowledge(tmp_path / "k", FAQ)


def test_attach_adds_exactly_one_line(kdir: Path) -> None:
    path = kdir / "faq" / "member.yaml"
    original = path.read_bytes()
    edit = plan_attach(kdir, "退会手续怎么办", "member.leave")
    save(edit)
    lines = original.splitlines(keepends=True)
    expected = b"".join(lines[:8]) + "      - 退会手续怎么办\n".encode() + b"".join(lines[8:])
    assert path.read_bytes() == expected
    assert "退会手续怎么办" in load_knowledge(kdir).by_id["member.leave"].similar


def test_attach_to_an_entry_without_similar_adds_the_list_after_question(kdir: Path) -> None:
    path = kdir / "faq" / "member.yaml"
    original = path.read_text(encoding="utf-8")
    save(plan_attach(kdir, "会费要交多少", "member.dues"))
    assert path.read_text(encoding="utf-8") == original.replace(
        "    question: 会员需要缴纳会费吗？\n",
        "    question: 会员需要缴纳会费吗？\n    similar:\n      - 会费要交多少\n")


def test_attach_keeps_every_shipped_file_byte_for_byte(tmp_path: Path) -> None:
    """The real knowledge, with its header comments, quoting and block answers."""
    root = tmp_path / "knowledge"
    shutil.copytree(SHIPPED, root)
    knowledge = load_knowledge(root)
    for entry in knowledge.entries[::7]:
        path = Path(entry.file)
        before = path.read_bytes().splitlines(keepends=True)
        save(plan_attach(root, f"测试问法{entry.id}", entry.id))
        after = path.read_bytes().splitlines(keepends=True)
        added = [line for line in after if line not in before]
        assert len(after) == len(before) + 1 and added == [f"      - 测试问法{entry.id}\n".encode()], entry.id


@pytest.mark.parametrize(("question", "entry_id", "reason"), [
    ("退会手续", "member.nope", "没有编号为“member.nope”的条目"),
    ("不想做会员了怎么办", "member.leave", "已经是条目 member.leave 的问法"),
    ("不想做会员了，怎么办？", "member.dues", "已经是条目 member.leave 的问法"),  # same after normalizing
    ("   ", "member.leave", "问题是空的"),
])
def test_invalid_attach_is_refused_with_its_reason(kdir: Path, question: str, entry_id: str, reason: str) -> None:
    original = (kdir / "faq" / "member.yaml").read_bytes()
    with pytest.raises(EditError, match=reason):
        plan_attach(kdir, question, entry_id)
    assert (kdir / "faq" / "member.yaml").read_bytes() == original


def test_an_edit_that_would_not_validate_is_refused(kdir: Path) -> None:
    with pytest.raises(EditError, match="2048"):
        plan_new_entry(kdir, entry_id="member.long", question="很长的回答", answer="长" * 700, file="member")
    with pytest.raises(EditError, match="编号“member.dues”已经有了"):
        plan_new_entry(kdir, entry_id="member.dues", question="别的问题", answer="x", file="member")
    with pytest.raises(EditError, match="重复的问法"):
        plan_new_entry(kdir, entry_id="member.x", question="会员卡怎么领", similar=["会员卡怎么领？"], answer="x",
                       file="member")
    with pytest.raises(EditError, match="新文件，请给出主题"):
        plan_new_entry(kdir, entry_id="x.y", question="别的问题", answer="x", file="other")


def test_of_two_concurrent_edits_one_wins_and_the_other_is_told(kdir: Path) -> None:
    first = plan_attach(kdir, "退会手续怎么办", "member.leave")
    second = plan_attach(kdir, "会费要交多少", "member.dues")
    save(first)
    with pytest.raises(EditConflict, match="faq/member.yaml 在这次修改开始后被别人改过"):
        save(second)
    k = load_knowledge(kdir)
    assert "退会手续怎么办" in k.by_id["member.leave"].similar and not k.by_id["member.dues"].similar


def test_two_edits_racing_in_threads_one_is_saved(kdir: Path) -> None:
    import threading

    edits = [plan_attach(kdir, "退会手续怎么办", "member.leave"), plan_attach(kdir, "会费要交多少", "member.dues")]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def run(edit) -> None:
        start.wait()
        try:
            save(edit)
            outcomes.append("saved")
        except EditConflict:
            outcomes.append("told")

    threads = [threading.Thread(target=run, args=(e,)) for e in edits]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["saved", "told"]
    k = load_knowledge(kdir)
    added = [q for q in ("退会手续怎么办", "会费要交多少") if q in k.by_id["member.leave"].similar + k.by_id["member.dues"].similar]
    assert len(added) == 1


def test_a_hand_edit_during_a_program_edit_is_not_overwritten(kdir: Path) -> None:
    edit = plan_new_entry(kdir, entry_id="member.card", question="会员卡怎么领", answer="到服务站领。",
                          file="cards", topic="会员卡")
    hand = (kdir / "faq" / "member.yaml")
    hand.write_text(FAQ.replace("入会不收费。", "入会不收任何费用。"), encoding="utf-8")
    with pytest.raises(EditConflict):
        save(edit)
    assert not (kdir / "faq" / "cards.yaml").exists()
    assert "入会不收任何费用。" in hand.read_text(encoding="utf-8")


def test_new_entry_in_a_new_file_and_in_an_existing_one(kdir: Path) -> None:
    save(plan_new_entry(kdir, entry_id="card.get", question="会员卡怎么领", answer="到服务站领。\n带身份证。",
                        file="cards", topic="会员卡", similar=["哪里领会员卡"], keywords=["会员卡"]))
    save(plan_new_entry(kdir, entry_id="member.moved", question="换了城市还是会员吗", answer="是。", file="member"))
    k = load_knowledge(kdir)
    card = k.by_id["card.get"]
    assert (card.topic, card.similar, card.keywords, card.answer) == ("会员卡", ("哪里领会员卡",), ("会员卡",),
                                                                        "到服务站领。\n带身份证。")
    assert k.by_id["member.moved"].topic == "会员"
    text = (kdir / "faq" / "member.yaml").read_text(encoding="utf-8")
    assert text.startswith(FAQ) and "  - id: member.moved\n" in text  # everything before kept as it was


NEW_BLOCK = """\
  - id: {id}
    question: 新问题{id}
    similar:
      - 另一种问法{id}
    keywords: [关键词{n}]
    answer: |
      第一行。
      第二行。
"""


def test_a_new_entry_follows_a_blank_line_and_the_file_is_otherwise_unchanged(tmp_path: Path) -> None:
    """Like the entries staff wrote by hand: a blank line between the last one and the new one."""
    root = tmp_path / "knowledge"
    shutil.copytree(SHIPPED, root)
    for n, path in enumerate(sorted((root / "faq").glob("*.yaml"))):
        before = path.read_bytes()
        entry_id = f"{path.stem}.added"
        save(plan_new_entry(root, entry_id=entry_id, question=f"新问题{entry_id}", similar=[f"另一种问法{entry_id}"],
                            keywords=[f"关键词{n}"], answer="第一行。\n第二行。", file=path.stem))
        assert path.read_bytes() == before + b"\n" + NEW_BLOCK.format(id=entry_id, n=n).encode(), path.name


def test_a_file_ending_with_a_blank_line_gets_no_second_one(kdir: Path) -> None:
    path = kdir / "faq" / "member.yaml"
    path.write_text(FAQ + "\n", encoding="utf-8")
    save(plan_new_entry(kdir, entry_id="member.card", question="新问题member.card", similar=["另一种问法member.card"],
                        keywords=["关键词0"], answer="第一行。\n第二行。", file="member"))
    assert path.read_text(encoding="utf-8") == FAQ + "\n" + NEW_BLOCK.format(id="member.card", n=0)


def test_no_temporary_file_is_left_behind(kdir: Path) -> None:
    save(plan_attach(kdir, "退会手续怎么办", "member.leave"))
    assert sorted(p.name for p in (kdir / "faq").iterdir()) == ["member.yaml"]


def test_cli_attach_and_add(kdir: Path, monkeypatch) -> None:
    monkeypatch.setenv("UNIONBOT_STORE_KEY_PREFIX", f"edit-{id(kdir)}:")
    runner = CliRunner()
    ok = runner.invoke(main, ["faq", "attach", "退会手续怎么办", "member.leave", "--knowledge", str(kdir)])
    assert ok.exit_code == 0, ok.output
    assert "已把“退会手续怎么办”加为条目 member.leave 的相似问法" in ok.output
    again = runner.invoke(main, ["faq", "attach", "退会手续怎么办", "member.leave", "--knowledge", str(kdir)])
    assert again.exit_code == 1 and "已经是条目 member.leave 的问法" in again.output
    add = runner.invoke(main, ["faq", "add", "--id", "member.card", "--file", "member", "--question", "会员卡怎么领",
                               "--answer", "到服务站领。", "--similar", "哪里领会员卡", "--knowledge", str(kdir)])
    assert add.exit_code == 0 and "新增条目 member.card" in add.output, add.output
    assert load_knowledge(kdir).by_id["member.card"].similar == ("哪里领会员卡",)
