"""Command words: one reduction, one set of cancel words, triggers and menu keys declared by handlers."""

from __future__ import annotations

import yaml
from signup_transcript import ROOT

from bot.cli.menu import validate_menu
from bot.core.conversation import Context, Incoming
from bot.core.router import MENU_KEYS, route
from bot.core.words import CANCEL_WORDS, Trigger, command_word
from handlers import commands, join, member, stations


def click(key: str) -> Incoming:
    return Incoming(user="o1", kind="event", event="CLICK", event_key=key)


def text(body: str) -> Incoming:
    return Incoming(user="o1", kind="text", text=body)


def test_command_word_ignores_width_punctuation_case_and_invisible_marks() -> None:
    assert command_word(" 我要入会！") == command_word("我要\u200b入会") == "我要入会"
    assert command_word("ＯＫ。") == command_word("Ok?") == "ok"


def test_a_trigger_takes_its_words_and_its_menu_keys() -> None:
    trigger = Trigger(frozenset({"驿站"}), frozenset({"STATIONS"}))
    assert trigger(text("驿站？")) and trigger(click("stations"))
    assert not trigger(text("驿站在哪个街道")) and not trigger(click("JOIN"))


def test_the_menu_keys_are_the_ones_the_handlers_declare() -> None:
    declared = [commands.HELP.menu_keys, join.TRIGGER.menu_keys, member.TRIGGER.menu_keys, stations.TRIGGER.menu_keys]
    assert frozenset().union(*declared) == MENU_KEYS
    assert sum(len(keys) for keys in declared) == len(MENU_KEYS)  # no key claimed twice
    shipped = yaml.safe_load((ROOT / "knowledge" / "menu.yaml").read_text(encoding="utf-8"))
    assert validate_menu(shipped) == []
    problems = validate_menu({"button": [{"name": "活动", "type": "click", "key": "EVENTS"}]})
    assert problems and "EVENTS" in problems[0]


def test_every_cancel_word_cancels_outside_a_flow() -> None:
    for word in CANCEL_WORDS:
        outcome = route({"suggestions": ["a"]}, text(word), Context())
        assert outcome.replies == ("好的，已取消。有需要随时发消息给我。",), word
        assert "suggestions" not in outcome.state
