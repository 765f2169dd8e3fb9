"""The shared test helpers are right: ID numbers against literal known-valid ones, the clock."""

from __future__ import annotations

import datetime as dt

import pytest
from support.clock import NOW, Clock, TickingClock
from support.ids import make_id, nth_id

from bot.signup.validators import IdNumber, id_check_char, parse_id_number


@pytest.mark.parametrize(
    ("birth", "sequence", "region", "known"),
    [
        (dt.date(1949, 12, 31), 2, "110105", "11010519491231002X"),
        (dt.date(1880, 1, 1), 1, "440524", "440524188001010014"),
        (dt.date(1980, 1, 1), 1, "340524", "34052419800101001X"),
    ],
)
def test_make_id_gives_known_valid_numbers(birth: dt.date, sequence: int, region: str, known: str) -> None:
    assert make_id(birth, sequence, region) == known


def test_make_id_defaults_and_nth_id_agree_with_the_validator() -> None:
    numbers = [make_id()] + [nth_id(n) for n in (0, 1, 7299, 7300, 123_456, 7_299_999)]
    for number in numbers:
        assert len(number) == 18
        assert number[17] == id_check_char(number[:17])
        parsed = parse_id_number(number, dt.date(2026, 1, 1))
        assert isinstance(parsed, IdNumber) and parsed.value == number, parsed


def test_nth_id_is_distinct() -> None:
    assert len({nth_id(n) for n in range(20_000)}) == 20_000


def test_clock_moves_only_when_told() -> None:
    seconds = Clock(NOW)
    assert seconds() == NOW
    assert seconds.advance(1.5) == NOW + 1.5 and seconds() == NOW + 1.5
    assert seconds.advance(minutes=1) == NOW + 61.5
    start = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    moment = Clock(start)
    moment.advance(days=2, hours=1)
    assert moment() == start + dt.timedelta(days=2, hours=1)


def test_ticking_clock_is_one_second_a_message_plus_any_wait() -> None:
    clock = TickingClock()
    clock.tick()
    assert clock() == NOW
    clock.tick()
    assert clock() == NOW + 1
    clock.wait(3)
    assert clock() == NOW + 1  # a wait shows at the next message
    clock.tick()
    assert clock() == NOW + 5

