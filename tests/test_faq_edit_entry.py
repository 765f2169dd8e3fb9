"""plan_edit_entry: the console's whole-entry edit, in the same careful style as attach."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_faq_editing import FAQ, kdir  # noqa: F401  (the fixture)

from bot.faq.editing import EditConflict, EditError, file_digest, plan_edit_entry, save
from bot.faq.knowledge import load_knowledge


def edit(kdir: Path, **changes: object) -> None:  # noqa: F811
    entry = load_knowledge(kdir).by_id["member.leave"]
    fields = {"question": entry.question, "similar": list(entry.similar), "keywords": list(entry.keywords),
              "answer": entry.answer, **changes}
    save(plan_edit_entry(kdir, "member.leave", **fields))  # type: ignore[arg-type]


def test_changing_only_the_answer_keeps_everything_else_byte_for_byte(kdir: Path) -> None:  # noqa: F811
    path = kdir / "faq" / "member.yaml"
    edit(kdir, answer="在公众号里申请退会。\n也可以到驿站办理。")
    assert path.read_text(encoding="utf-8") == FAQ.replace("也可以到服务站办理。", "也可以到驿站办理。")


def test_similar_and_keywords_are_replaced(kdir: Path) -> None:  # noqa: F811
    edit(kdir, similar=["怎么退出工会"], keywords=["退会"])
    entry = load_knowledge(kdir).by_id["member.leave"]
    assert entry.similar == ("怎么退出工会",) and entry.keywords == ("退会",)
    assert "# trailing comment" in (kdir / "faq" / "member.yaml").read_text(encoding="utf-8")
    edit(kdir, similar=[])
    assert load_knowledge(kdir).by_id["member.leave"].similar == ()


def test_a_question_another_entry_has_is_refused(kdir: Path) -> None:  # noqa: F811
    with pytest.raises(EditError, match="member.dues"):
        edit(kdir, similar=["会员需要缴纳会费吗"])
    with pytest.raises(EditError, match="回答是空的"):
        edit(kdir, answer="  ")


def test_an_edit_made_after_the_form_was_opened_is_not_overwritten(kdir: Path) -> None:  # noqa: F811
    path = kdir / "faq" / "member.yaml"
    seen = file_digest(path.read_bytes())
    path.write_text(FAQ.replace("入会不收费。", "入会不收费，会费按月交。"), encoding="utf-8")
    with pytest.raises(EditConflict):
        edit(kdir, answer="新的回答", seen=seen)
    assert "会费按月交" in path.read_text(encoding="utf-8")
