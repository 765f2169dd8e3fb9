"""No full mobile or ID number in any Redis value: sealed conversation state, masked and bounded
unanswered questions, the replay memory. On fakeredis and on the real Redis (fixture ``store``)."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from support.store import state_of

from bot.signup.privacy import Sealer, generate_key, mask_numbers
from bot.storage.store import GapRetention, Store

ID = "11010519491231002X"
PHONE = "13812345678"
QUESTION = f"我身份证{ID} 手机{PHONE} 能查下我入会没"


class Clock:
    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def raw_values(store: Store) -> list[bytes]:
    """Every value, member and field under the store's prefix, as Redis holds it."""
    client, found = store.redis, []
    for key in client.scan_iter(match=store.prefix + "*"):
        kind = client.type(key).decode()
        if kind == "string":
            found.append(client.get(key))
        elif kind == "hash":
            for field, value in client.hgetall(key).items():
                found += [field, value]
        elif kind == "zset":
            found += client.zrange(key, 0, -1)
        else:
            found += list(client.lrange(key, 0, -1)) if kind == "list" else list(client.smembers(key))
    return found


def assert_no_full_number(values: list[bytes]) -> None:
    for value in values:
        text = value.decode("utf-8", "replace").upper()
        assert ID not in text and PHONE not in text, text


def test_a_paused_signups_numbers_are_sealed_in_redis(store: Store) -> None:
    state = {"flow": "join", "join": {"step": "summary", "answers": {"name": "张三", "phone": PHONE,
                                                                     "id_number": ID}}}
    store.save_state("u1", state)
    assert_no_full_number(raw_values(store))
    assert "张三".encode() not in store.redis.get(store.key("state", "u1"))
    assert state_of(store, "u1") == state
    turn = store.begin_turn("u1", "msg:u1:1")  # the turn script reads the same sealed value
    assert turn is not None and turn.state == state


def test_state_sealed_under_a_former_key_still_opens_after_rotation(store: Store) -> None:
    old, new = generate_key(), generate_key()
    before = replace(store, sealer=Sealer(old))
    before.save_state("u1", {"join": {"phone": PHONE}})
    rotated = replace(store, sealer=Sealer(new, [old]))
    assert state_of(rotated, "u1") == {"join": {"phone": PHONE}}
    rotated.save_state("u1", {"join": {"phone": PHONE, "step": 2}})  # resealed under the new key
    assert state_of(replace(store, sealer=Sealer(new)), "u1") == {"join": {"phone": PHONE, "step": 2}}


def test_state_no_configured_key_opens_is_an_empty_state_and_a_warning_without_data(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    replace(store, sealer=Sealer(generate_key())).save_state("u1", {"join": {"id_number": ID}})
    store.redis.set(store.key("state", "u2"), f'{{"join": {{"id_number": "{ID}"}}}}')  # never sealed
    with caplog.at_level(logging.WARNING):
        assert state_of(store, "u1") == {}
        assert state_of(store, "u2") == {}
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING"]
    assert ID not in caplog.text and "u1" in caplog.text


def test_unanswered_questions_are_stored_and_shown_masked(store: Store) -> None:
    store.record_unanswered(QUESTION, "none")
    store.record_unanswered(f"我身份证{ID.lower()} 手机{PHONE} 能查下我入会没", "none")
    assert_no_full_number(raw_values(store))
    assert store.unanswered() == [(mask_numbers(QUESTION), 2, {"none": 2}, {})]
    assert "110105********002X" in store.unanswered()[0][0] and "138****5678" in store.unanswered()[0][0]


def test_a_follow_up_finds_the_question_by_its_masked_wording(store: Store) -> None:
    """The conversation remembers the question masked: its follow-up still counts on the record."""
    store.record_unanswered(QUESTION, "suggest")
    store.follow_up_unanswered(mask_numbers(QUESTION), "suggest", "picked", "membership.check")
    assert_no_full_number(raw_values(store))
    assert store.unanswered() == [(mask_numbers(QUESTION), 1, {"picked": 1}, {"membership.check": 1})]


def test_records_written_in_full_by_an_older_version_are_shown_masked(store: Store) -> None:
    store.redis.zincrby(store.key("gaps", "count"), 1, QUESTION)
    store.redis.hset(store.key("gaps", "outcome"), QUESTION, "none")
    assert store.unanswered() == [(mask_numbers(QUESTION), 1, {"none": 1}, {})]


def test_unanswered_questions_not_asked_for_max_age_are_forgotten(store: Store) -> None:
    clock = Clock()
    gaps = replace(store, gaps=GapRetention(max_age=1000, max_count=100), clock=clock)
    gaps.record_unanswered("高温费怎么领", "none")
    clock.now += 600
    gaps.record_unanswered("电动车丢了", "none")
    assert 0 < store.redis.ttl(store.key("gaps", "count")) <= 1000  # a quiet bot keeps nothing
    clock.now += 600  # the first is 1200 s old, the second 600 s
    assert [row.question for row in gaps.unanswered()] == ["电动车丢了"]
    assert store.redis.hkeys(store.key("gaps", "outcome")) == ["电动车丢了".encode()]
    clock.now += 300
    gaps.record_unanswered("电动车丢了", "suggest")  # asked again: kept from now on
    clock.now += 900
    assert gaps.unanswered() == [("电动车丢了", 2, {"none": 1, "suggest": 1}, {})]


def test_at_most_max_count_questions_are_kept_the_least_recently_asked_go_first(store: Store) -> None:
    clock = Clock()
    gaps = replace(store, gaps=GapRetention(max_age=10**6, max_count=3), clock=clock)
    for question in ["问题一", "问题二", "问题三", "问题一", "问题四", "问题五"]:
        clock.now += 1
        gaps.record_unanswered(question, "none")
    assert sorted(row.question for row in gaps.unanswered()) == ["问题一", "问题五", "问题四"]
    assert store.redis.zcard(store.key("gaps", "seen")) == store.redis.hlen(store.key("gaps", "outcome")) == 3
    gaps.follow_up_unanswered("问题二", "none", "human")  # forgotten: a follow-up brings nothing back
    assert store.redis.zcard(store.key("gaps", "count")) == store.redis.hlen(store.key("gaps", "outcome")) == 3


def test_listing_unanswered_questions_reads_pages_never_the_whole_hash(store: Store) -> None:
    for i in range(450):
        store.redis.zadd(store.key("gaps", "count"), {f"问题{i:03d}": 1000 - i})
        store.redis.hset(store.key("gaps", "outcome"), f"问题{i:03d}", "suggest" if i % 2 else "none")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("HGETALL reads the whole hash at once")

    store.redis.hgetall = refuse  # type: ignore[method-assign]
    rows = store.unanswered(limit=430, page=100)
    assert len(rows) == 430
    # an older version's record (its last outcome only) stands for every ask
    assert rows[0] == ("问题000", 1000, {"none": 1000}, {}) and rows[-1] == ("问题429", 571, {"suggest": 571}, {})


def test_a_signed_request_is_remembered_with_its_body(store: Store) -> None:
    assert store.remember_request("req1", "body-a", ttl=600) is True
    assert store.remember_request("req1", "body-a", ttl=600) is True  # WeChat's retry
    assert store.remember_request("req1", "body-b", ttl=600) is False  # a replay with another body
    assert store.remember_request("req2", "body-b", ttl=600) is True
    assert 0 < store.redis.ttl(store.key("request", "req1")) <= 600


@pytest.mark.parametrize(("typed", "kept"), [
    (QUESTION, "我身份证110105********002X 手机138****5678 能查下我入会没"),
    ("电话138-1234-5678，身份证110105 19491231 002x", "电话138****5678，身份证110105********002X"),
    ("１３８１２３４５６７８", "138****5678"),
    ("座机0551-12345678 卡号6222021234567890123", "座机0551-******78 卡号*****************23"),
    ("2026年高温费 12351 热线 5000元", "2026年高温费 12351 热线 5000元"),  # short numbers are no one's
])
def test_personal_numbers_in_free_text_are_masked(typed: str, kept: str) -> None:
    assert mask_numbers(typed) == kept
