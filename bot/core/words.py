"""Command words: how a message is reduced for matching, and the trigger each handler declares.

A handler declares the words and menu buttons that call it where it is defined (as WeRoBot's
``@robot.filter`` / ``@robot.key_click`` do), as a :class:`Trigger`; the router collects them.
Word sets that several handlers share (the cancel words) live here, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.conversation import Incoming
from bot.signup.validators import normalize

_PUNCTUATION = re.compile(r"[\s!！?？.。,，、~～…:：;；\"'“”‘’()（）【】\[\]<>《》]+")

CANCEL_WORDS = frozenset({"取消", "退出", "算了", "不办了", "取消入会", "不入了"})
"""取消 and its kin: leave the active flow, or, with none active, drop a pending list."""


def command_word(text: str) -> str:
    """The text reduced for exact command matching: no spaces, punctuation, case or full width."""
    return _PUNCTUATION.sub("", normalize(text)).lower()


@dataclass(frozen=True)
class Trigger:
    """The typed words and the menu click keys that call one handler."""

    words: frozenset[str]
    menu_keys: frozenset[str] = frozenset()

    def __call__(self, message: Incoming) -> bool:
        if message.is_text_like:
            return command_word(message.text) in self.words
        return message.kind == "event" and message.event.lower() == "click" and (
            message.event_key.upper() in self.menu_keys
        )


@dataclass(frozen=True)
class CodeCommand:
    """A command word followed by a number, typed as one message (绑定 483920)."""

    word: str

    def code(self, message: Incoming) -> str | None:
        """The number after the word, or None when the message is something else."""
        if not message.is_text_like:
            return None
        found = re.fullmatch(re.escape(self.word) + r"(\d{1,12})", command_word(message.text))
        return found.group(1) if found else None
