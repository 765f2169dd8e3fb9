"""未解答问题 and 知识库: staff turn unanswered questions into answers and edit the FAQ entries.

The pages call :class:`bot.curation.actions.Curation` (the same API as ``unionbot faq``), so an
action here edits the YAML, publishes it to the shared store and is written to the curation
history under the staff account's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from bot.core.conversation import Outcome as Reply
from bot.core.router import fit_reply
from bot.curation.actions import Curation, Outcome
from bot.faq.editing import EditError, file_digest
from bot.faq.gaps import GapGroup
from bot.faq.knowledge import KnowledgeError, knowledge_warnings, load_knowledge, read_knowledge_files
from bot.faq.matcher import Matcher
from bot.registry import staff
from bot.storage.store import StoreUnavailable
from bot.web.admin.base import actor, bp, may, registry, roles, services

ACTION_LABELS = {"attach": "加为相似问法", "new_entry": "新建条目", "out_of_scope": "不在服务范围",
                 "dismiss": "忽略"}
FAILURES = (EditError, KnowledgeError, StoreUnavailable)
"""What an action may fail with; its text (Chinese) is shown to staff."""


def curation() -> Curation:
    svc = services()
    return Curation(svc.config.knowledge.dir, svc.store, clock=svc.clock)


def matcher() -> Matcher | None:
    return services().knowledge.matcher() if services().knowledge is not None else None


def _failed(exc: Exception) -> str:
    if isinstance(exc, StoreUnavailable):
        return "操作失败：共享存储（Redis）暂时连不上，请稍后再试"
    if isinstance(exc, KnowledgeError):
        return "操作失败，知识库检查不通过：\n" + str(exc)
    return f"操作失败：{exc}"


def _done(outcome: Outcome) -> None:
    flash(outcome.handled.summary + ("（已发布，各服务器几秒内生效）" if outcome.published else ""))
    if outcome.notice:
        flash(outcome.notice, "error")


# -- 未解答问题 ---------------------------------------------------------------------------------


@bp.get("/gaps")
def gaps() -> Any:
    groups = curation().open_groups()[:100]
    asked = services().store.last_asked([text for g in groups for text, _ in g.variants])
    found = matcher()
    rows = [{"group": g, "last": max((asked.get(t, 0) for t, _ in g.variants), default=0),
             "candidates": _candidates(g, found)} for g in groups]
    entries = found.knowledge.entries if found else ()
    return render_template("admin/gaps.html", rows=rows, entries=entries,
                           history=curation().history(20), CURATION_LABELS=ACTION_LABELS)


def _candidates(group: GapGroup, found: Matcher | None) -> list[dict[str, Any]]:
    """The matcher's three nearest entries, then any other entry workers picked from the group's
    lists (where its wordings likely belong), each with how often it was picked."""
    if found is None:
        return []
    out = [{"entry_id": c.entry_id, "question": c.question, "score": c.score, "picked": group.picks[c.entry_id]}
           for c in found.match(group.question).candidates[:3]]
    shown = {c["entry_id"] for c in out}
    for entry_id, n in group.picks.most_common():
        entry = found.knowledge.by_id.get(entry_id)
        if entry is not None and entry_id not in shown:
            out.append({"entry_id": entry_id, "question": entry.question, "score": None, "picked": n})
    return out


@bp.get("/gaps/history")
def gaps_history() -> Any:
    return render_template("admin/gaps_history.html", history=curation().history(500), CURATION_LABELS=ACTION_LABELS)


@bp.post("/gaps/attach")
@roles("editor")
def gaps_attach() -> Any:
    question, entry_id = request.form.get("question", ""), request.form.get("entry_id", "").strip()
    if not entry_id:
        flash("请选择或填写要加到的条目编号。", "error")
        return redirect(url_for("admin.gaps"))
    try:
        _done(curation().attach(question, entry_id, actor()))
    except FAILURES as exc:
        flash(_failed(exc), "error")
    return redirect(url_for("admin.gaps"))


@bp.post("/gaps/mark")
@roles("editor")
def gaps_mark() -> Any:
    question, action = request.form.get("question", ""), request.form.get("action", "")
    try:
        if action == "out_of_scope":
            _done(curation().out_of_scope(question, actor()))
        elif action == "dismiss":
            _done(curation().dismiss(question, actor()))
        else:
            flash("未知的操作。", "error")
    except FAILURES as exc:
        flash(_failed(exc), "error")
    return redirect(url_for("admin.gaps"))


@bp.route("/gaps/new", methods=["GET", "POST"])
@roles("editor")
def gaps_new() -> Any:
    form = {"question": "", "entry_id": "", "file": "", "topic": "", "similar": "", "keywords": "", "answer": "",
            **request.values.to_dict()}
    error = None
    found = matcher()
    if request.method == "GET" and not form["file"] and found is not None and form["question"].strip():
        best = found.match(form["question"]).best  # the nearest entry's file is the likeliest place
        if best is not None:
            form["file"] = Path(found.knowledge.by_id[best.entry_id].file).stem
    if request.method == "POST":
        try:
            _done(curation().new_entry(form["question"], entry_id=form["entry_id"], answer=form["answer"],
                                       file=form["file"], by=actor(), topic=form["topic"] or None,
                                       similar=_lines(form["similar"]), keywords=_words(form["keywords"])))
            return redirect(url_for("admin.gaps"))
        except FAILURES as exc:
            error = _failed(exc)
    return render_template("admin/gaps_new.html", form=form, error=error, files=_files())


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _words(text: str) -> list[str]:
    return [w for w in text.replace("，", ",").replace("、", ",").replace(",", " ").split() if w]


def _files() -> list[str]:
    return sorted(n.removeprefix("faq/").removesuffix(".yaml")
                  for n in read_knowledge_files(services().config.knowledge.dir) if n.startswith("faq/"))


# -- 知识库 -------------------------------------------------------------------------------------


@bp.get("/knowledge")
def knowledge() -> Any:
    root = services().config.knowledge.dir
    error, entries = None, []
    try:
        entries = list(load_knowledge(root).entries)
    except KnowledgeError as exc:
        error = _failed(exc)
    topics = sorted({e.topic for e in entries})
    topic, query = request.args.get("topic", ""), request.args.get("q", "").strip()
    shown = [e for e in entries if (not topic or e.topic == topic) and (
        not query or query in e.id or any(query in p for p in e.phrasings) or query in e.answer)]
    return render_template("admin/knowledge.html", entries=shown, total=len(entries), topics=topics, topic=topic,
                           query=query, error=error, todo=[w.removeprefix(f"{root}/") for w in knowledge_warnings(root)],
                           tried=_try(request.args.get("try", "")))


def _try(text: str) -> dict | None:
    """``faq try`` for the console: the decision and the candidates with their scores."""
    found = matcher()
    if not text.strip() or found is None:
        return None
    return found.explain(text.strip(), top=5)


@bp.route("/knowledge/<entry_id>", methods=["GET", "POST"])
def knowledge_entry(entry_id: str) -> Any:
    saving = request.method == "POST" and not request.form.get("preview")
    if saving and not may("editor"):
        abort(403)
    root = services().config.knowledge.dir
    try:
        entry = load_knowledge(root).by_id.get(entry_id)
    except KnowledgeError as exc:
        flash(_failed(exc), "error")
        return redirect(url_for("admin.knowledge"))
    if entry is None:
        flash(f"没有编号为“{entry_id}”的条目。", "error")
        return redirect(url_for("admin.knowledge"))
    name = entry.file.removeprefix(str(root)).lstrip("/")
    form = {"question": entry.question, "similar": "\n".join(entry.similar), "keywords": " ".join(entry.keywords),
            "answer": entry.answer, "seen": file_digest(read_knowledge_files(root)[name])}
    error = None
    if request.method == "POST":
        form.update(request.form.to_dict())
        if saving:
            try:
                published, notice = curation().edit_entry(
                    entry_id, question=form["question"], similar=_lines(form["similar"]),
                    keywords=_words(form["keywords"]), answer=form["answer"], by=actor(), seen=form["seen"])
                staff.record_staff_event(registry(), actor(), "faq_edited", f"entry {entry_id}")
                flash(f"已保存条目 {entry_id}" + ("（已发布，各服务器几秒内生效）" if published else ""))
                if notice:
                    flash(notice, "error")
                return redirect(url_for("admin.knowledge_entry", entry_id=entry_id))
            except FAILURES as exc:
                error = _failed(exc)
    return render_template("admin/knowledge_entry.html", entry=entry, name=name, form=form, error=error,
                           preview=wechat_preview(form["answer"]))


def wechat_preview(answer: str) -> dict[str, Any]:
    """The reply as WeChat shows it: cut at the 2,048-byte limit, the rest kept for 更多."""
    fitted = fit_reply(Reply(state={}, replies=(answer.strip(),)))
    rest = fitted.state.get("more", "")
    return {"first": fitted.replies[0] if fitted.replies else "", "more": rest,
            "bytes": len(answer.strip().encode("utf-8"))}
