"""A small knowledge folder written for a test: ``faq/<name>.yaml`` under ``root``."""

from __future__ import annotations

from pathlib import Path


def write_knowledge(root: Path, faq: str, name: str = "member.yaml") -> Path:
    """``root`` with ``faq`` as its one FAQ file; answers ``root``."""
    (root / "faq").mkdir(parents=True)
    (root / "faq" / name).write_text(faq, encoding="utf-8")
    return root
