"""The FAQ knowledge staff edit: YAML files under ``knowledge/``, validated and hot-reloaded.

``load_knowledge(dir)`` reads ``faq/*.yaml`` and the optional ``synonyms.yaml`` (other files,
e.g. ``stations.yaml``, are someone else's) and either returns a :class:`Knowledge` or raises
:class:`KnowledgeError` listing every problem as ``file:line: message``.

:class:`KnowledgeSource` keeps the current matcher for one worker process. Every process
checks at most every ``reload_interval`` seconds for a newer version published in the shared
store (``unionbot faq publish``, see :mod:`bot.storage.published`) or, while nothing is published,
for changed files (path, mtime, size); so an edit is live in all workers within a few seconds
without a restart. A broken edit never replaces the last good knowledge: it is logged, and
exposed as ``last_error`` for the admin page.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from bot.faq.text import normalize

if TYPE_CHECKING:  # pragma: no cover
    from bot.faq.matcher import Matcher

log = logging.getLogger("bot.faq.knowledge")

ID_RE = re.compile(r"^[a-z0-9._-]+$")
MAX_ANSWER_BYTES = 2048
ENTRY_KEYS = ("id", "question", "similar", "keywords", "answer")
REQUIRED_KEYS = ("id", "question", "answer")
FILE_KEYS = ("topic", "entries")
SYNONYMS_FILE = "synonyms.yaml"
PLACEHOLDER = "【待填"


class KnowledgeError(ValueError):
    """The knowledge folder has problems; ``problems`` are ``file:line: message`` strings."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Entry:
    id: str
    question: str
    similar: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    answer: str = ""
    topic: str = ""
    file: str = ""
    line: int = 0

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The standard question and the other ways of asking it."""
        return (self.question, *self.similar)


@dataclass(frozen=True)
class Knowledge:
    entries: tuple[Entry, ...] = ()
    synonyms: tuple[tuple[str, ...], ...] = ()
    fingerprint: str = ""
    source: str = ""
    by_id: dict[str, Entry] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.by_id and self.entries:
            object.__setattr__(self, "by_id", {e.id: e for e in self.entries})

    @classmethod
    def from_entries(cls, entries: list[Entry] | tuple[Entry, ...],
                     synonyms: list[list[str]] | tuple[tuple[str, ...], ...] = ()) -> Knowledge:
        """Build knowledge in code (tests, benchmarks); fingerprint from the content."""
        entries = tuple(entries)
        syn = tuple(tuple(g) for g in synonyms)
        digest = hashlib.sha256(repr((entries, syn)).encode()).hexdigest()[:16]
        return cls(entries=entries, synonyms=syn, fingerprint=digest, source="<memory>")


# -- loading and validation ------------------------------------------------------------------


def knowledge_files(directory: str | Path) -> list[Path]:
    """The files this module reads under ``directory``, in a stable order."""
    root = Path(directory)
    files = sorted((root / "faq").glob("*.yaml")) + sorted((root / "faq").glob("*.yml"))
    syn = root / SYNONYMS_FILE
    if syn.is_file():
        files.append(syn)
    return files


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _scalar_text(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.ScalarNode):
        if node.tag == "tag:yaml.org,2002:null" and node.style is None and node.value in ("", "~", "null", "Null", "NULL"):
            return None
        return str(node.value)
    return None


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, file: str, line: int, message: str) -> None:
        self.items.append(f"{file}:{line}: {message}")


def _compose(text: str, display: str, problems: _Problems) -> yaml.Node | None:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        hints = _typing_hints(text, parsed=False)
        if not hints:  # a hint names the real line; the parser's complaint comes lines later
            mark = exc.problem_mark or exc.context_mark
            hints = [(mark.line + 1 if mark else 1, f"malformed YAML: {exc.problem or exc.context}")]
        for line, message in hints:
            problems.add(display, line, message)
        return None
    except yaml.YAMLError as exc:
        problems.add(display, 1, f"malformed YAML: {exc}")
        return None
    for line, message in _typing_hints(text, parsed=True):
        problems.add(display, line, message)
    return root


_KEY_WITH_WIDE_COLON = re.compile(r"^\s*(?:-\s+)?(?:" + "|".join(ENTRY_KEYS + FILE_KEYS) + r")\s*：")


def _typing_hints(text: str, parsed: bool) -> list[tuple[int, str]]:
    """Lines typed with a full-width colon after a key, or (in a file that does not parse)
    indented with a tab: the parser reports these lines later, in terms staff cannot act on.
    A parsed file may hold tabs in its texts, but never a key with a full-width colon."""
    hints = []
    for number, line in enumerate(text.splitlines(), 1):
        if _KEY_WITH_WIDE_COLON.match(line):
            hints.append((number, "键后面用了中文冒号“：”，请改成英文冒号“:”，冒号后再空一格"))
        elif not parsed and "\t" in line[: len(line) - len(line.lstrip())]:
            hints.append((number, "这一行用 Tab 缩进了，请改用空格缩进"))
    return hints


def _string_list(node: yaml.Node, display: str, key: str, problems: _Problems) -> tuple[str, ...]:
    if isinstance(node, yaml.ScalarNode) and _scalar_text(node) is None:
        return ()
    if not isinstance(node, yaml.SequenceNode):
        problems.add(display, _line(node), f"{key} must be a list of strings")
        return ()
    out = []
    for item in node.value:
        text = _scalar_text(item)
        if text is None or not text.strip():
            problems.add(display, _line(item), f"{key}: empty or non-text item")
            continue
        out.append(text.strip())
    return tuple(out)


def _read_faq_file(text: str, display: str, problems: _Problems) -> list[Entry]:
    root = _compose(text, display, problems)
    if root is None:
        if not problems.items or not problems.items[-1].startswith(display + ":"):
            problems.add(display, 1, "empty file: expected 'topic' and 'entries'")
        return []
    if not isinstance(root, yaml.MappingNode):
        problems.add(display, _line(root), "expected a mapping with 'topic' and 'entries'")
        return []
    topic = Path(display).stem
    entries_node: yaml.Node | None = None
    seen: set[str] = set()
    for key_node, value_node in root.value:
        key = _scalar_text(key_node) or ""
        if key in seen:
            problems.add(display, _line(key_node), f"duplicate key '{key}'")
        seen.add(key)
        if key == "topic":
            text = _scalar_text(value_node)
            if text is None or not text.strip():
                problems.add(display, _line(value_node), "topic must be a non-empty text")
            else:
                topic = text.strip()
        elif key == "entries":
            entries_node = value_node
        else:
            problems.add(display, _line(key_node), f"unknown key '{key}' (expected: {', '.join(FILE_KEYS)})")
    if entries_node is None:
        problems.add(display, _line(root), "missing 'entries'")
        return []
    if not isinstance(entries_node, yaml.SequenceNode):
        problems.add(display, _line(entries_node), "'entries' must be a list")
        return []
    entries = []
    for item in entries_node.value:
        entry = _read_entry(item, display, topic, problems)
        if entry is not None:
            entries.append(entry)
    return entries


def _read_entry(node: yaml.Node, display: str, topic: str, problems: _Problems) -> Entry | None:
    line = _line(node)
    if not isinstance(node, yaml.MappingNode):
        problems.add(display, line, "an entry must be a mapping with id, question and answer")
        return None
    values: dict[str, Any] = {}
    ok = True
    for key_node, value_node in node.value:
        key = _scalar_text(key_node) or ""
        kline = _line(key_node)
        if key not in ENTRY_KEYS:
            problems.add(display, kline, f"unknown key '{key}' (expected: {', '.join(ENTRY_KEYS)})")
            ok = False
            continue
        if key in values:
            problems.add(display, kline, f"duplicate key '{key}'")
            ok = False
            continue
        if key in ("similar", "keywords"):
            values[key] = _string_list(value_node, display, key, problems)
        else:
            text = _scalar_text(value_node)
            if text is None or not text.strip():
                problems.add(display, kline, f"{key} is empty")
                ok = False
                values[key] = None
                continue
            values[key] = text.strip()
    for key in REQUIRED_KEYS:
        if key not in values:
            problems.add(display, line, f"missing required '{key}'")
            ok = False
    entry_id = values.get("id")
    if isinstance(entry_id, str) and not ID_RE.match(entry_id):
        problems.add(display, line, f"bad id '{entry_id}': use only a-z, 0-9, '.', '_' and '-'")
        ok = False
    answer = values.get("answer")
    if isinstance(answer, str):
        size = len(answer.encode("utf-8"))
        if size > MAX_ANSWER_BYTES:
            problems.add(display, line, f"answer of '{entry_id}' is {size} bytes; a WeChat reply allows {MAX_ANSWER_BYTES}")
            ok = False
    if not ok:
        return None
    return Entry(
        id=values["id"], question=values["question"], similar=values.get("similar", ()),
        keywords=values.get("keywords", ()), answer=values["answer"], topic=topic, file=display, line=line,
    )


def _read_synonyms(text: str, display: str, problems: _Problems) -> list[tuple[str, ...]]:
    root = _compose(text, display, problems)
    if root is None:
        return []
    if not isinstance(root, yaml.SequenceNode):
        problems.add(display, _line(root), "expected a list of word groups, e.g. - [骑手, 外卖员]")
        return []
    groups = []
    for group in root.value:
        if not isinstance(group, yaml.SequenceNode):
            problems.add(display, _line(group), "a synonym group must be a list of words")
            continue
        words = _string_list(group, display, "synonyms", problems)
        if len(words) < 2:
            problems.add(display, _line(group), "a synonym group needs at least two words")
            continue
        groups.append(words)
    return groups


def read_knowledge_files(directory: str | Path) -> dict[str, bytes]:
    """The bytes of every file :func:`load_knowledge` reads, by name relative to ``directory``
    (``faq/dues.yaml``, ``synonyms.yaml``): what a published snapshot carries."""
    root = Path(directory)
    files = {}
    for path in knowledge_files(root):
        with contextlib.suppress(OSError):  # vanished between listing and reading: not ours any more
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def load_knowledge(directory: str | Path) -> Knowledge:
    """Read and validate the knowledge under ``directory``; raise :class:`KnowledgeError`."""
    root = Path(directory)
    if not (root / "faq").is_dir():
        raise KnowledgeError([f"{root / 'faq'}:0: no faq/ folder"])
    return knowledge_from_files(read_knowledge_files(root), str(root))


def knowledge_from_files(files: Mapping[str, bytes], source: str) -> Knowledge:
    """Validate knowledge given as ``{relative name: bytes}``, e.g. a folder about to be written
    or a published snapshot; problems name ``source/name:line``. Raise :class:`KnowledgeError`."""
    problems = _Problems()
    digest = hashlib.sha256()
    entries: list[Entry] = []
    synonyms: list[tuple[str, ...]] = []
    for name in sorted(files, key=lambda n: (n == SYNONYMS_FILE, n)):
        data = files[name]
        display = str(Path(source) / name)
        digest.update(Path(name).name.encode() + b"\0" + data)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.add(display, 1, f"not UTF-8 text ({exc.reason})")
            continue
        if name == SYNONYMS_FILE:
            synonyms = _read_synonyms(text, display, problems)
        else:
            entries.extend(_read_faq_file(text, display, problems))
    if not entries and not problems.items:
        problems.add(str(Path(source) / "faq"), 0, "no FAQ entries found (expected faq/*.yaml)")
    first_id: dict[str, Entry] = {}
    for e in entries:
        if e.id in first_id:
            other = first_id[e.id]
            problems.add(e.file, e.line, f"duplicate id '{e.id}' (also at {other.file}:{other.line})")
            problems.add(other.file, other.line, f"duplicate id '{e.id}' (also at {e.file}:{e.line})")
        else:
            first_id[e.id] = e
    seen_q: dict[str, Entry] = {}
    for e in entries:
        for text in dict.fromkeys(normalize(p).replace(" ", "") for p in e.phrasings):
            if not text:
                continue
            other = seen_q.get(text)
            if other is not None and other.id != e.id:
                problems.add(e.file, e.line, f"question '{text}' of '{e.id}' is also asked under "
                             f"'{other.id}' ({other.file}:{other.line})")
            else:
                seen_q[text] = e
    if problems.items:
        raise KnowledgeError(problems.items)
    return Knowledge(entries=tuple(entries), synonyms=tuple(synonyms),
                     fingerprint=digest.hexdigest()[:16], source=source)


def check_knowledge(directory: str | Path) -> list[str]:
    """Every problem in the knowledge under ``directory`` (empty list: all good)."""
    try:
        load_knowledge(directory)
    except KnowledgeError as exc:
        return exc.problems
    return []


def knowledge_warnings(directory: str | Path) -> list[str]:
    """What loads but should not go live, as ``file:line: message``: placeholders still to be
    filled in, and a word in two synonym groups (only one of the groups can apply)."""
    root = Path(directory)
    warnings: list[str] = []
    for name, data in read_knowledge_files(root).items():
        display = str(root / name)
        text = data.decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            start = line.find(PLACEHOLDER)
            if start >= 0 and not line.lstrip().startswith("#"):
                end = line.find("】", start)
                shown = line[start:end + 1] if end > 0 else line[start:]
                warnings.append(f"{display}:{number}: 还有待填写的内容 {shown}，上线前请换成真实信息")
        if name == SYNONYMS_FILE:
            warnings.extend(_synonym_overlaps(text, display))
    return warnings


def _synonym_overlaps(text: str, display: str) -> list[str]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []  # an error load_knowledge reports
    if not isinstance(root, yaml.SequenceNode):
        return []
    first_group: dict[str, int] = {}
    out = []
    for group in root.value:
        if not isinstance(group, yaml.SequenceNode):
            continue
        for word in dict.fromkeys((_scalar_text(item) or "").strip() for item in group.value):
            if not word:
                continue
            if word in first_group:
                out.append(f"{display}:{_line(group)}: “{word}”同时在两组同义词里（另一组在第 {first_group[word]} 行），"
                           "只能留在一组")
            else:
                first_group[word] = _line(group)
    return out


# -- hot reload ----------------------------------------------------------------------------


def _snapshot(directory: Path) -> tuple[tuple[str, int, int], ...]:
    out = []
    for path in knowledge_files(directory):
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


class PublishedVersions(Protocol):
    """Where published snapshots live (:class:`bot.storage.published.PublishedKnowledge`)."""

    def version(self) -> int | None: ...

    def snapshot(self) -> Any: ...


class KnowledgeSource:
    """The current matcher for one process, reloaded when the knowledge changes.

    Cheap to call on every message: at most every ``reload_interval`` seconds it asks the shared
    store for the published version (one GET) or, when nothing was published, stats the files.
    Once a version is published it is what serves, on every host: publishing is what makes an
    edit live everywhere. A failed reload keeps serving the last good matcher and sets
    ``last_error``; an unreachable store keeps serving what is loaded.
    """

    def __init__(self, directory: str | Path, matcher_factory: Callable[[Knowledge], Matcher],
                 reload_interval: float = 2.0, clock: Callable[[], float] = time.monotonic,
                 published: PublishedVersions | None = None) -> None:
        """``matcher_factory`` builds the matcher from loaded knowledge (the composition root
        chooses its settings; this module does not import the matcher, which imports it);
        ``published`` is the shared store's published versions, when there is one."""
        self.directory = Path(directory)
        self.reload_interval = reload_interval
        self.clock = clock
        self._factory = matcher_factory
        self._published = published
        self._lock = threading.Lock()
        self._matcher: Matcher | None = None
        self._knowledge: Knowledge | None = None
        self._snapshot: tuple[tuple[str, int, int], ...] | None = None
        self._checked_at: float | None = None
        self._seen_version: int | None = None
        self.version: int | None = None
        """The published version serving (None: the local files)."""
        self.last_error: str | None = None
        self.loaded_at: float | None = None

    @property
    def knowledge(self) -> Knowledge | None:
        return self._knowledge

    def matcher(self) -> Matcher | None:
        now = self.clock()
        if self._checked_at is None or now - self._checked_at >= self.reload_interval:
            with self._lock:
                if self._checked_at is None or now - self._checked_at >= self.reload_interval:
                    self._checked_at = now
                    self._refresh()
        return self._matcher

    def _refresh(self) -> bool:
        if self._published is not None:
            try:
                version = self._published.version()
            except ConnectionError as exc:  # the shared store is unreachable (StoreUnavailable is one)
                if self._matcher is not None:
                    log.warning("published knowledge version unknown (%s); still serving what is loaded", exc)
                    return False
                version = None
            if version is not None:
                return self._refresh_published(version)
        self._seen_version = None  # nothing published (any more): a version 1 published later is new
        return self._refresh_files()

    def _refresh_files(self) -> bool:
        snap = _snapshot(self.directory)
        if snap == self._snapshot and self.version is None:
            return False
        self._snapshot = snap
        try:
            knowledge = load_knowledge(self.directory)
        except KnowledgeError as exc:
            return self._failed(str(self.directory.resolve()), exc)
        return self._install(knowledge, None)

    def _refresh_published(self, version: int) -> bool:
        if version == self._seen_version:
            return False
        self._seen_version = version
        try:
            snapshot = self._published.snapshot() if self._published is not None else None
        except ConnectionError as exc:  # the shared store is unreachable (StoreUnavailable is one)
            self._seen_version = None  # try again next time
            log.warning("published knowledge v%d could not be read: %s", version, exc)
            return self._refresh_files() if self._matcher is None else False
        try:
            if snapshot is None:
                raise KnowledgeError([f"published v{version}:0: unreadable snapshot"])
            self._seen_version = snapshot.version
            knowledge = knowledge_from_files(snapshot.files, f"published v{snapshot.version}")
        except KnowledgeError as exc:
            self._failed(f"published v{version}", exc)
            if self._matcher is not None:
                return False
            # nothing loaded yet: this host's own files are the last good version
            loaded = self._refresh_files()
            self.last_error = str(exc)
            return loaded
        return self._install(knowledge, snapshot.version)

    def _failed(self, where: str, exc: KnowledgeError) -> bool:
        self.last_error = str(exc)
        outcome = ("could not be loaded (no FAQ answers until it is fixed)" if self._matcher is None
                   else "not reloaded, still serving the last good version")
        log.error("knowledge in %s %s:\n%s", where, outcome, exc)
        return False

    def _install(self, knowledge: Knowledge, version: int | None) -> bool:
        matcher = self._factory(knowledge)
        self._knowledge = knowledge
        self._matcher = matcher
        self.version = version
        self.last_error = None
        self.loaded_at = self.clock()
        log.info("knowledge loaded from %s: %d entries (%s)", knowledge.source, len(knowledge.entries),
                 knowledge.fingerprint)
        return True
