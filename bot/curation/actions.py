"""Curation: staff turn unanswered questions into answers. The API the console and CLI call.

A gap group (:func:`bot.faq.gaps.group_gaps`) is named by any one of its wordings. Each action
handles the whole group: every wording gets a mark (so the group leaves the list) and the
history records what was done, by whom and when. Attaching a wording or creating an entry edits
the YAML (:mod:`bot.faq.editing`) and, when the store is shared by several processes, publishes
the new knowledge so every host answers from it within seconds.

Errors for staff are :class:`~bot.faq.editing.EditError` (Chinese text);
:class:`~bot.storage.store.StoreUnavailable` when Redis is down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.curation.publish import Published, publish_folder
from bot.faq.editing import Edit, EditError, plan_attach, plan_edit_entry, plan_new_entry, save
from bot.faq.gaps import GapGroup, group_gaps
from bot.storage.curation import CurationLog, Handled
from bot.storage.published import PublishedKnowledge
from bot.storage.store import Store, StoreUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What an action did: the history record, the published version (None: not published), and a
    notice for staff when the edit was saved but could not be published."""

    handled: Handled
    published: Published | None = None
    notice: str | None = None


@dataclass
class Curation:
    directory: Path
    store: Store
    clock: Callable[[], float] = time.time
    shared: bool | None = None
    """Publish edits to the store; by default unless it is the per-process memory:// store,
    which no other process could read."""
    log: CurationLog = field(init=False)
    published: PublishedKnowledge | None = field(init=False)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        self.log = CurationLog(self.store, self.clock)
        shared = not self.store.embedded if self.shared is None else self.shared
        self.published = PublishedKnowledge(self.store) if shared else None

    # -- reading -------------------------------------------------------------------------------

    def open_groups(self, limit: int = 1000) -> list[GapGroup]:
        """Unanswered questions not yet handled, grouped, most asked first."""
        marks = self.log.marks()
        return group_gaps(row for row in self.store.unanswered(limit) if row.question not in marks)

    def history(self, limit: int = 100) -> list[Handled]:
        """What was done, newest first."""
        return self.log.history(limit)

    # -- actions -------------------------------------------------------------------------------

    def attach(self, question: str, entry_id: str, by: str) -> Outcome:
        """Add ``question`` to entry ``entry_id``'s similar questions; its group is handled."""
        return self._edit(plan_attach(self.directory, question, entry_id), "attach", question, entry_id, by)

    def new_entry(self, question: str, *, entry_id: str, answer: str, file: str, by: str,
                  topic: str | None = None, similar: Sequence[str] = (),
                  keywords: Sequence[str] = ()) -> Outcome:
        """Create entry ``entry_id`` with ``question`` as its standard question; its group is handled."""
        edit = plan_new_entry(self.directory, entry_id=entry_id, question=question, answer=answer, file=file,
                              topic=topic, similar=similar, keywords=keywords)
        return self._edit(edit, "new_entry", question, entry_id, by)

    def edit_entry(self, entry_id: str, *, question: str, similar: Sequence[str], keywords: Sequence[str],
                   answer: str, by: str, seen: str | None = None) -> tuple[Published | None, str | None]:
        """Save a whole-entry edit (:func:`~bot.faq.editing.plan_edit_entry`) and publish it.

        Not a gap action, so nothing is marked or added to the history; the caller audits it.
        Returns the published version and a notice as :class:`Outcome` has them."""
        edit = plan_edit_entry(self.directory, entry_id, question=question, similar=similar, keywords=keywords,
                               answer=answer, seen=seen)
        save(edit)
        return self._publish(by)

    def out_of_scope(self, question: str, by: str) -> Outcome:
        """Not the union's business: the group is ignored from now on and kept as a negative case."""
        return Outcome(self._record("out_of_scope", question, None, by, "已标记为不在服务范围内"))

    def dismiss(self, question: str, by: str) -> Outcome:
        """Nothing to do (noise, a one-off): the group leaves the list without becoming a case."""
        return Outcome(self._record("dismiss", question, None, by, "已忽略"))

    def publish(self, by: str) -> Published:
        """Publish the folder as it is now (hand edits included); raises KnowledgeError if invalid."""
        if self.published is None:
            raise EditError("store.url 是 memory://（只在本进程内），没有可以发布到的共享存储")
        return publish_folder(self.directory, self.published, by, self.clock())

    # ------------------------------------------------------------------------------------------

    def group_of(self, question: str) -> tuple[str, ...]:
        """The wordings of the open group ``question`` belongs to (just itself when none does)."""
        wanted = question.strip()
        for group in self.open_groups():
            wordings = tuple(text for text, _ in group.variants)
            if wanted in wordings:
                return wordings
        return (wanted,)

    def _edit(self, edit: Edit, action: str, question: str, entry_id: str, by: str) -> Outcome:
        wordings = self.group_of(question)  # before saving: read errors leave the files alone
        save(edit)
        handled = self._record(action, question, entry_id, by, edit.summary, wordings)
        return Outcome(handled, *self._publish(by))

    def _publish(self, by: str) -> tuple[Published | None, str | None]:
        """Publish after a saved edit: (version, None), (None, None) when not shared, or (None, notice)."""
        if self.published is None:
            return None, None
        try:
            return publish_folder(self.directory, self.published, by, self.clock()), None
        except (StoreUnavailable, ValueError) as exc:  # KnowledgeError: a hand edit broke another file since
            log.error("knowledge saved but not published: %s", exc)
            return None, (f"已保存到文件，但没有发布到其他服务器：{exc}；"
                          "处理好后请运行 unionbot faq publish")

    def _record(self, action: str, question: str, entry_id: str | None, by: str, summary: str,
                wordings: tuple[str, ...] | None = None) -> Handled:
        if not question.strip():
            raise EditError("问题是空的")
        handled = Handled(action, wordings or self.group_of(question), entry_id, by or "cli", self.clock(), summary)
        self.log.record(handled)
        return handled
