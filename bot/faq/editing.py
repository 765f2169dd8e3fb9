"""Edits of the knowledge YAML that keep everything else as staff wrote it.

The YAML files stay the source of truth and staff may edit them by hand at any time, so a
program's edit must (1) change only what it means to change: a round-trip YAML library keeps
comments, order and formatting; (2) never save knowledge that does not validate: the whole
would-be folder is checked as ``faq check`` would; (3) never overwrite somebody else's edit:
the folder's contents when the edit began are compared, under a lock, right before the file
is replaced, and a difference refuses the edit; (4) never leave a half-written file: a
temporary file in the same folder replaces the old one atomically.

An edit is two steps, :func:`plan_attach` / :func:`plan_new_entry` / :func:`plan_edit_entry`
then :func:`save`, so a
console can show the planned change before saving it. Messages are for staff, in Chinese.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString

from bot.faq.knowledge import (
    ID_RE,
    Knowledge,
    KnowledgeError,
    knowledge_from_files,
    read_knowledge_files,
)

FILE_NAME_RE = re.compile(r"^[a-z0-9_-]+$")
INDENTS = ((2, 4, 2), (2, 2, 0), (4, 6, 4), (4, 4, 0))
"""(mapping, sequence, offset) indentations tried, in order, to reproduce a file exactly."""


class EditError(ValueError):
    """An edit was refused; the message says why, for staff."""


class EditConflict(EditError):
    """The knowledge changed on disk after the edit began; nothing was saved."""


@dataclass(frozen=True)
class Edit:
    """A planned, validated change of one knowledge file, not yet saved."""

    root: Path
    name: str
    """The changed file, relative to ``root`` (``faq/dues.yaml``)."""
    content: bytes
    before: dict[str, bytes]
    """The folder as read when the edit began: saving refuses when it changed since."""
    knowledge: Knowledge
    """The knowledge as it will be after saving (validated)."""
    summary: str

    @property
    def path(self) -> Path:
        return self.root / self.name


def plan_attach(directory: str | Path, question: str, entry_id: str) -> Edit:
    """Add ``question`` to the ``similar`` list of entry ``entry_id``."""
    root, before, knowledge = _current(directory)
    question = _one_line(question, "问题")
    entry = knowledge.by_id.get(entry_id)
    if entry is None:
        raise EditError(f"没有编号为“{entry_id}”的条目")
    _refuse_known_question(knowledge, question)
    name = _relative(root, entry.file)
    yaml, data = _round_trip(name, before[name])
    node = next((e for e in data["entries"] if isinstance(e, CommentedMap) and str(e.get("id")) == entry_id), None)
    if node is None:  # the loaded knowledge has it, so the file must: a race with a hand edit
        raise EditConflict(f"{name} 在读取时被改动了，请重试")
    similar = node.get("similar")
    if isinstance(similar, CommentedSeq):
        similar.append(question)
    else:
        similar = CommentedSeq([question])
        node.insert(list(node).index("question") + 1 if "question" in node else len(node), "similar", similar)
    return _planned(root, before, name, _dump(yaml, data), f"已把“{question}”加为条目 {entry_id} 的相似问法")


def plan_new_entry(directory: str | Path, *, entry_id: str, question: str, answer: str, file: str,
                   topic: str | None = None, similar: Sequence[str] = (), keywords: Sequence[str] = ()) -> Edit:
    """Add a new entry at the end of ``faq/<file>.yaml``, creating that file (with ``topic``) if needed."""
    root, before, knowledge = _current(directory)
    entry_id = entry_id.strip()
    if not ID_RE.match(entry_id):
        raise EditError(f"编号“{entry_id}”不可用：只能用小写字母、数字和 . _ -")
    if entry_id in knowledge.by_id:
        other = knowledge.by_id[entry_id]
        raise EditError(f"编号“{entry_id}”已经有了（{other.file}:{other.line}）")
    file = file.strip().removesuffix(".yaml")
    if not FILE_NAME_RE.match(file):
        raise EditError(f"文件名“{file}”不可用：只能用小写字母、数字、_ 和 -")
    question = _one_line(question, "问题")
    similar = [_one_line(s, "相似问法") for s in similar]
    keywords = [_one_line(k, "关键词") for k in keywords]
    if not answer.strip():
        raise EditError("回答是空的")
    phrasings = [question, *similar]
    if len({_key(p) for p in phrasings}) < len(phrasings):
        raise EditError("问题和相似问法里有重复的问法")
    for text in phrasings:
        _refuse_known_question(knowledge, text)
    entry = CommentedMap(id=entry_id, question=question)
    if similar:
        entry["similar"] = CommentedSeq(similar)
    if keywords:
        entry["keywords"] = CommentedSeq(keywords)
        entry["keywords"].fa.set_flow_style()
    entry["answer"] = LiteralScalarString(answer.strip() + "\n")
    name = f"faq/{file}.yaml"
    if name in before:
        yaml, data = _round_trip(name, before[name])
        if not isinstance(data.get("entries"), CommentedSeq):
            raise EditError(f"{name} 里没有 entries 列表，请手工修改")
        _append_entry(data["entries"], entry, blank_line=not _ends_with_blank_line(before[name]))
    else:
        if not (topic or "").strip():
            raise EditError(f"{name} 是新文件，请给出主题（topic）")
        yaml, data = _yaml(INDENTS[0]), CommentedMap(topic=topic.strip(), entries=CommentedSeq([entry]))
    return _planned(root, before, name, _dump(yaml, data), f"已在 {name} 新增条目 {entry_id}")


def plan_edit_entry(directory: str | Path, entry_id: str, *, question: str, similar: Sequence[str],
                    keywords: Sequence[str], answer: str, seen: str | None = None) -> Edit:
    """Replace entry ``entry_id``'s question, similar questions, keywords and answer.

    ``seen`` is :func:`file_digest` of the entry's file when staff opened the form: a different
    file now (somebody else's edit) refuses the change instead of overwriting theirs.
    """
    root, before, knowledge = _current(directory)
    entry = knowledge.by_id.get(entry_id)
    if entry is None:
        raise EditError(f"没有编号为“{entry_id}”的条目")
    name = _relative(root, entry.file)
    if seen is not None and seen != file_digest(before[name]):
        raise EditConflict(f"{name} 在你打开这个条目后被别人改过，本次修改没有保存；请看过最新内容后重新修改")
    question = _one_line(question, "问题")
    similar = [_one_line(s, "相似问法") for s in similar if s.strip()]
    keywords = [_one_line(k, "关键词") for k in keywords if k.strip()]
    if not answer.strip():
        raise EditError("回答是空的")
    phrasings = [question, *similar]
    if len({_key(p) for p in phrasings}) < len(phrasings):
        raise EditError("问题和相似问法里有重复的问法")
    others = Knowledge(entries=tuple(e for e in knowledge.entries if e.id != entry_id))
    for text in phrasings:
        _refuse_known_question(others, text)
    yaml, data = _round_trip(name, before[name])
    node = next((e for e in data["entries"] if isinstance(e, CommentedMap) and str(e.get("id")) == entry_id), None)
    if node is None:
        raise EditConflict(f"{name} 在读取时被改动了，请重试")
    node["question"] = question
    _set_list(node, "similar", similar, after="question")
    _set_list(node, "keywords", keywords, after="similar" if similar else "question", flow=True)
    if str(node.get("answer", "")).strip() != answer.strip():
        node["answer"] = LiteralScalarString(answer.strip().replace("\r\n", "\n") + "\n")
    return _planned(root, before, name, _dump(yaml, data), f"已修改条目 {entry_id}")


def _append_entry(entries: CommentedSeq, entry: CommentedMap, *, blank_line: bool) -> None:
    """Append ``entry``, after a blank line as staff separate entries by hand (none when the file
    already ends with one, so there are never two)."""
    entries.append(entry)
    if blank_line and len(entries) > 1:
        entries.yaml_set_comment_before_after_key(len(entries) - 1, before="\n")


def _ends_with_blank_line(content: bytes) -> bool:
    lines = content.splitlines()
    return bool(lines) and not lines[-1].strip()


def file_digest(content: bytes) -> str:
    """A short name for one version of a file: what an edit form remembers to detect a later edit."""
    return hashlib.sha256(content).hexdigest()[:16]


def _set_list(node: CommentedMap, key: str, values: list[str], *, after: str, flow: bool = False) -> None:
    """Set or remove a list field, keeping the existing list (and its comments) when unchanged."""
    current = node.get(key)
    if not values:
        node.pop(key, None)
        return
    if isinstance(current, CommentedSeq) and [str(v) for v in current] == values:
        return
    seq = CommentedSeq(values)
    if flow or (isinstance(current, CommentedSeq) and current.fa.flow_style()):
        seq.fa.set_flow_style()
    if key in node:
        node[key] = seq
    else:
        node.insert(list(node).index(after) + 1 if after in node else len(node), key, seq)


def save(edit: Edit) -> None:
    """Write the planned file atomically, unless the folder changed since the edit began.

    Raises :class:`EditConflict` naming what changed; the other edit is kept.
    """
    with _folder_lock(edit.root):
        now = read_knowledge_files(edit.root)
        changed = sorted(n for n in set(now) | set(edit.before) if now.get(n) != edit.before.get(n))
        if changed:
            raise EditConflict(f"{'、'.join(changed)} 在这次修改开始后被别人改过，本次修改没有保存；"
                               "请看过最新内容后重新操作")
        path = edit.path
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(edit.content)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


# ------------------------------------------------------------------------------------------


def _current(directory: str | Path) -> tuple[Path, dict[str, bytes], Knowledge]:
    root = Path(directory)
    if not (root / "faq").is_dir():
        raise EditError(f"{root} 下没有 faq 文件夹")
    before = read_knowledge_files(root)
    try:
        knowledge = knowledge_from_files(before, str(root))
    except KnowledgeError as exc:
        raise EditError("知识库现在就有错误，请先修好（unionbot faq check）：\n" + str(exc)) from None
    return root, before, knowledge


def _one_line(text: str, what: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise EditError(f"{what}是空的")
    return text


def _key(question: str) -> str:
    """What two questions must differ in: the knowledge check's comparison."""
    from bot.faq.text import normalize

    return normalize(question).replace(" ", "")


def _refuse_known_question(knowledge: Knowledge, question: str) -> None:
    key = _key(question)
    for entry in knowledge.entries:
        if any(_key(p) == key for p in entry.phrasings):
            raise EditError(f"“{question}”已经是条目 {entry.id} 的问法（{entry.file}:{entry.line}）")


def _relative(root: Path, display: str) -> str:
    return Path(display).relative_to(root).as_posix()


def _yaml(indent: tuple[int, int, int]) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never wrap a long line staff wrote on one
    yaml.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return yaml


def _round_trip(name: str, content: bytes) -> tuple[YAML, Any]:
    """A YAML instance that writes this file back byte for byte, and the file's data."""
    text = content.decode("utf-8")
    for indent in INDENTS:
        yaml = _yaml(indent)
        try:
            data = yaml.load(text)
        except YAMLError as exc:
            raise EditError(f"{name} 无法读取：{exc}") from None
        if _dump(yaml, data) == content:
            if not isinstance(data, CommentedMap):
                raise EditError(f"{name} 不是 topic/entries 格式")
            return yaml, data
    raise EditError(f"{name} 的排版无法原样保留（缩进不统一？），请手工修改这个文件")


def _dump(yaml: YAML, data: Any) -> bytes:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue().encode("utf-8")


def _planned(root: Path, before: dict[str, bytes], name: str, content: bytes, summary: str) -> Edit:
    files = {**before, name: content}
    try:
        knowledge = knowledge_from_files(files, str(root))
    except KnowledgeError as exc:
        raise EditError("修改后的知识库检查不通过，没有保存：\n" + str(exc)) from None
    return Edit(root=root, name=name, content=content, before=before, knowledge=knowledge, summary=summary)


@contextlib.contextmanager
def _folder_lock(root: Path) -> Iterator[None]:
    """An exclusive lock on the knowledge folder itself, between edits made by programs."""
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
