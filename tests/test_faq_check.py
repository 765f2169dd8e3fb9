"""``faq check``: warnings (placeholders left, a word in two synonym groups) print but exit 0;
full-width colons and tabs get a Chinese hint on the line that has them."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from support.knowledge import write_knowledge

from bot.cli import main
from bot.faq.knowledge import check_knowledge, knowledge_warnings

FAQ = """\
# 【待填：……】是需要本单位补上的真实信息（a comment: no warning）
topic: 联系
entries:
  - id: contact.phone
    question: 工会电话多少？
    similar:
      - 怎么联系工会
    answer: |
      电话：【待填：县总工会服务电话】
      地址：县城中心
"""


def folder(tmp_path: Path, faq: str = FAQ, synonyms: str | None = None) -> Path:
    root = write_knowledge(tmp_path / "k", faq, "contact.yaml")
    if synonyms is not None:
        (root / "synonyms.yaml").write_text(synonyms, encoding="utf-8")
    return root


def check(root: Path):
    return CliRunner().invoke(main, ["faq", "check", str(root)])


def test_placeholder_left_is_a_warning_on_its_line(tmp_path: Path) -> None:
    root = folder(tmp_path)
    assert knowledge_warnings(root) == [
        f"{root / 'faq' / 'contact.yaml'}:9: 还有待填写的内容 【待填：县总工会服务电话】，上线前请换成真实信息"]
    res = check(root)
    assert res.exit_code == 0 and "有 1 条问答" in res.stdout and "1 条警告" in res.stdout
    assert "contact.yaml:9: 还有待填写的内容" in res.stderr


def test_word_in_two_synonym_groups_is_a_warning(tmp_path: Path) -> None:
    root = folder(tmp_path, FAQ.replace("【待填：县总工会服务电话】", "12351"),
                  "# 人群\n- [骑手, 外卖员]\n- [快递员, 快递小哥]\n- [送餐员, 外卖员]\n")
    assert knowledge_warnings(root) == [
        f"{root / 'synonyms.yaml'}:4: “外卖员”同时在两组同义词里（另一组在第 2 行），只能留在一组"]
    res = check(root)
    assert res.exit_code == 0 and "“外卖员”同时在两组同义词里" in res.stderr


def test_clean_knowledge_has_no_warnings(tmp_path: Path) -> None:
    root = folder(tmp_path, FAQ.replace("【待填：县总工会服务电话】", "12351"), "- [骑手, 外卖员]\n")
    res = check(root)
    assert res.exit_code == 0 and res.stderr == "" and "warning" not in res.stdout


def test_full_width_colon_gets_a_hint_on_its_own_line(tmp_path: Path) -> None:
    text = FAQ.replace("    question: 工会电话多少？", "    question：工会电话多少？")
    root = folder(tmp_path, text)
    problems = check_knowledge(root)
    # the parser alone complains about line 6 ("could not find expected ':'")
    assert problems == [f"{root / 'faq' / 'contact.yaml'}:5: 键后面用了中文冒号“：”，请改成英文冒号“:”，冒号后再空一格"]
    res = check(root)
    assert res.exit_code == 1 and "contact.yaml:5: 键后面用了中文冒号" in res.stderr


def test_a_colon_inside_text_is_not_taken_for_a_key(tmp_path: Path) -> None:
    root = folder(tmp_path, FAQ.replace("      - 怎么联系工会", "      - 电话：多少"))
    assert check_knowledge(root) == []


def test_tab_indent_gets_a_hint_on_its_own_line(tmp_path: Path) -> None:
    root = folder(tmp_path, FAQ.replace("    similar:\n", "\tsimilar:\n"))
    problems = check_knowledge(root)
    assert problems == [f"{root / 'faq' / 'contact.yaml'}:6: 这一行用 Tab 缩进了，请改用空格缩进"]
    assert check(root).exit_code == 1


def test_errors_still_exit_non_zero_with_warnings_printed(tmp_path: Path) -> None:
    root = folder(tmp_path, FAQ + "  - id: Bad Id\n    question: 别的\n    answer: x\n")
    res = check(root)
    assert res.exit_code == 1 and "bad id 'Bad Id'" in res.stderr and "还有待填写的内容" in res.stderr


def test_a_tab_inside_an_answer_is_text_not_a_problem(tmp_path: Path) -> None:
    root = folder(tmp_path, FAQ.replace("      地址：县城中心", "      \t地址：县城中心"))
    assert check_knowledge(root) == []
