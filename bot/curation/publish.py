"""Publishing: a validated copy of this host's knowledge folder becomes the version every host serves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.faq.knowledge import knowledge_from_files, read_knowledge_files
from bot.storage.published import PublishedKnowledge


@dataclass(frozen=True)
class Published:
    version: int
    fingerprint: str
    entries: int
    unchanged: bool
    """The folder was already the newest published version: nothing was pushed."""


def publish_folder(directory: str | Path, published: PublishedKnowledge, by: str, at: float) -> Published:
    """Validate the folder as ``faq check`` does and publish it as the next version.

    Raises :class:`~bot.faq.knowledge.KnowledgeError` (nothing published) when it does not
    validate, so a broken folder never reaches the other hosts.
    """
    root = Path(directory)
    files = read_knowledge_files(root)
    knowledge = knowledge_from_files(files, str(root))
    current = published.snapshot()
    if current is not None and current.fingerprint == knowledge.fingerprint and current.version == published.version():
        return Published(current.version, knowledge.fingerprint, len(knowledge.entries), unchanged=True)
    version = published.publish(files, by=by, at=at, fingerprint=knowledge.fingerprint)
    return Published(version, knowledge.fingerprint, len(knowledge.entries), unchanged=False)
