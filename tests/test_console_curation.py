"""未解答问题 and 知识库 pages through the Flask test client: who may act, what is recorded,
and errors shown inline in Chinese."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_helpers import Console, build_console, csrf, log_in

from bot.faq.knowledge import KnowledgeSource, load_knowledge
from bot.faq.matcher import Matcher
from bot.storage.store import Store

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
GAP = "高温补贴怎么申请"  # recorded as unanswered by build_console


@pytest.fixture
def console(tmp_path: Path, store: Store) -> Iterator[Console]:
    shutil.copytree(KNOWLEDGE, tmp_path / "k")
    built = build_console(f"sqlite:///{tmp_path / 'c.db'}", store, str(tmp_path / "k"))
    built.services.knowledge = KnowledgeSource(tmp_path / "k", lambda k: Matcher(k, semantic=False),
                                               reload_interval=0)
    yield built
    built.close()


def test_an_editor_dismisses_a_group_and_the_history_names_them(console: Console) -> None:
    client = console.app.test_client()
    log_in(client, "eddie")
    page = client.get("/admin/gaps").get_data(as_text=True)
    assert GAP in page and "没找到答案" in page and "加为相似问法" in page
    response = client.post("/admin/gaps/mark", data={"question": GAP, "action": "dismiss",
                                                     "csrf_token": csrf(client, "/admin/gaps")})
    assert response.status_code == 302
    page = client.get("/admin/gaps").get_data(as_text=True)
    assert "没有待处理的未解答问题" in page
    history = client.get("/admin/gaps/history").get_data(as_text=True)
    assert GAP in history and "eddie" in history and "忽略" in history


def test_the_gaps_page_says_how_the_asks_ended_and_which_entries_were_picked(console: Console) -> None:
    store = console.services.store
    store.record_unanswered(GAP, "suggest")
    store.record_unanswered(GAP, "suggest")
    store.follow_up_unanswered(GAP, "suggest", "picked", "rights.arrears")
    store.follow_up_unanswered(GAP, "none", "human")
    client = console.app.test_client()
    log_in(client, "eddie")
    page = client.get("/admin/gaps").get_data(as_text=True)
    assert "问过 3 次" in page
    assert "结果：1 次给了列表但没选，1 次选了列表中的一项，1 次之后转了人工" in page
    # the entry picked from the list is offered beside the matcher's nearest ones
    picked = page.split('value="rights.arrears"')[1].split("</li>")[0]
    assert "劳动者在列表里选过 1 次" in picked and "加为相似问法" in picked
    home = client.get("/admin/").get_data(as_text=True)
    assert "1 次给了列表但没选，1 次选了列表中的一项，1 次之后转了人工" in home
    csv_rows = client.get("/admin/stats/gaps.csv").get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert csv_rows[:2] == ["问题,次数,结果", f"{GAP},3,1 次给了列表但没选，1 次选了列表中的一项，1 次之后转了人工"]


def test_a_reviewer_may_look_but_not_act(console: Console) -> None:
    client = console.app.test_client()
    log_in(client, "rita")
    assert "/admin/gaps/attach" not in client.get("/admin/gaps").get_data(as_text=True)
    token = csrf(client, "/admin/gaps")
    assert client.post("/admin/gaps/mark", data={"question": GAP, "action": "dismiss",
                                                 "csrf_token": token}).status_code == 403
    entry = load_knowledge(console.services.config.knowledge.dir).entries[0]
    assert client.post(f"/admin/knowledge/{entry.id}", data={"question": "x", "answer": "y",
                                                             "csrf_token": token}).status_code == 403


def test_new_entry_errors_are_shown_in_chinese_and_a_good_one_is_saved(console: Console) -> None:
    client = console.app.test_client()
    log_in(client, "eddie")
    form = client.get(f"/admin/gaps/new?question={GAP}").get_data(as_text=True)
    assert f'value="{GAP}"' in form  # prefilled
    token = csrf(client, "/admin/gaps")
    data = {"question": GAP, "entry_id": "Bad Id", "file": "rights", "answer": "按规定申请。", "csrf_token": token}
    page = client.post("/admin/gaps/new", data=data).get_data(as_text=True)
    assert "编号“Bad Id”不可用" in page
    data["entry_id"] = "rights.heat"
    assert client.post("/admin/gaps/new", data=data).status_code == 302
    assert load_knowledge(console.services.config.knowledge.dir).by_id["rights.heat"].question == GAP
    assert "没有待处理的未解答问题" in client.get("/admin/gaps").get_data(as_text=True)


def test_knowledge_search_try_preview_and_todo(console: Console) -> None:
    client = console.app.test_client()
    log_in(client, "rita")
    entry = load_knowledge(console.services.config.knowledge.dir).entries[0]
    page = client.get(f"/admin/knowledge?q={entry.question}&try={entry.question}").get_data(as_text=True)
    assert entry.id in page and "直接回答" in page
    page = client.get(f"/admin/knowledge/{entry.id}").get_data(as_text=True)
    assert "微信里看到的样子" in page
    long = "很长的一句话。" * 200
    page = client.post(f"/admin/knowledge/{entry.id}", data={
        "question": entry.question, "answer": long, "preview": "1",
        "csrf_token": csrf(client, f"/admin/knowledge/{entry.id}")}).get_data(as_text=True)
    assert "回复“更多”" in page


def test_an_entry_edit_is_saved_and_an_invalid_one_explained(console: Console) -> None:
    client = console.app.test_client()
    log_in(client, "eddie")
    entry = load_knowledge(console.services.config.knowledge.dir).entries[0]
    other = load_knowledge(console.services.config.knowledge.dir).entries[1]
    path = f"/admin/knowledge/{entry.id}"
    token = csrf(client, path)
    seen = client.get(path).get_data(as_text=True).split('name="seen" value="')[1].split('"')[0]
    data = {"question": entry.question, "similar": other.question, "keywords": "", "answer": entry.answer,
            "seen": seen, "csrf_token": token}
    assert f"已经是条目 {other.id} 的问法" in client.post(path, data=data).get_data(as_text=True)
    data["similar"] = "一个全新的问法"
    assert client.post(path, data=data).status_code == 302
    assert load_knowledge(console.services.config.knowledge.dir).by_id[entry.id].similar == ("一个全新的问法",)


def test_attach_by_entry_id_typed_in(console: Console) -> None:
    client = console.app.test_client()
    log_in(client, "eddie")
    page = client.get("/admin/gaps").get_data(as_text=True)
    assert '<option value="join.how">' in page  # the search list offers every entry with its question
    client.post("/admin/gaps/attach", data={"question": GAP, "entry_id": "no.such",
                                            "csrf_token": csrf(client, "/admin/gaps")})
    assert "没有编号为“no.such”的条目" in client.get("/admin/gaps").get_data(as_text=True)
    client.post("/admin/gaps/attach", data={"question": GAP, "entry_id": "rights.arrears",
                                            "csrf_token": csrf(client, "/admin/gaps")})
    assert GAP in load_knowledge(console.services.config.knowledge.dir).by_id["rights.arrears"].similar
