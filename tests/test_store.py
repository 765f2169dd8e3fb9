"""The store behaves the same on fakeredis and on the real Redis."""

from __future__ import annotations

import threading
import uuid

import pytest

from bot.storage.store import LockTimeout, Store, StoreUnavailable


def state_of(store: Store, user: str) -> dict:
    """The user's state as the next message's turn reads it (the turn is then given up)."""
    turn = store.begin_turn(user, f"read:{uuid.uuid4().hex}")
    assert turn is not None
    store.abandon_turn(turn)
    return turn.state


def test_state_round_trip_with_idle_ttl(store: Store) -> None:
    assert state_of(store, "u1") == {}
    store.save_state("u1", {"flow": "join", "join": {"step": "name", "answers": {"name": "张三"}}})
    assert state_of(store, "u1")["join"]["answers"]["name"] == "张三"
    ttl = store.redis.ttl(store.key("state", "u1"))
    assert 0 < ttl <= store.state_ttl
    store.save_state("u1", {})
    assert state_of(store, "u1") == {}
    assert not store.redis.exists(store.key("state", "u1"))


def test_unreadable_state_is_discarded(store: Store) -> None:
    store.redis.set(store.key("state", "u2"), b"{not json")
    assert state_of(store, "u2") == {}


def test_reply_is_kept_for_retries(store: Store) -> None:
    assert store.wait_reply("msg:2", timeout=0) is None
    store.save_reply("msg:2", b"<xml/>")
    assert store.wait_reply("msg:2", timeout=0) == b"<xml/>"


def test_wait_reply_sees_a_reply_saved_meanwhile(store: Store) -> None:
    assert store.begin_turn("u3", "msg:3") is not None  # the first delivery is at work
    timer = threading.Timer(0.05, store.save_reply, args=("msg:3", b"late"))
    timer.start()
    assert store.wait_reply("msg:3", timeout=5) == b"late"
    timer.join()


def test_lock_excludes_and_times_out(store: Store) -> None:
    with store.lock("user:u1"), pytest.raises(LockTimeout), store.lock("user:u1", wait=0.1):
        pass
    with store.lock("user:u1", wait=0.1):
        pass  # released after the first block


def test_values_with_ttl(store: Store) -> None:
    store.set_value("token", "abc", ttl=100)
    assert store.get_value("token") == "abc"
    assert 0 < store.redis.ttl(store.key("value", "token")) <= 100
    store.delete_value("token")
    assert store.get_value("token") is None


def test_unanswered_counts_most_asked_first(store: Store) -> None:
    for q in ["高温费怎么领", "高温费怎么领", "电动车丢了", "  "]:
        store.record_unanswered(q, "none")
    store.record_unanswered("电动车丢了", "suggest")
    store.record_unanswered("电动车丢了", "suggest")
    assert store.unanswered() == [("电动车丢了", 3, {"none": 1, "suggest": 2}, {}), ("高温费怎么领", 2, {"none": 2}, {})]
    store.clear_unanswered()
    assert store.unanswered() == []


def test_a_follow_up_moves_one_ask_to_a_stronger_outcome(store: Store) -> None:
    """A pick from the list, or 人工 afterwards: the counts per outcome still add up to the times asked."""
    for outcome in ("none", "none", "suggest", "suggest"):
        store.record_unanswered("电动车丢了", outcome)
    store.follow_up_unanswered("电动车丢了", "suggest", "picked", "stations.nearby")
    store.follow_up_unanswered("电动车丢了", "suggest", "picked", "stations.nearby")
    store.follow_up_unanswered("电动车丢了", "picked", "human")
    store.follow_up_unanswered("电动车丢了", "none", "human")
    assert store.unanswered() == [("电动车丢了", 4, {"none": 1, "picked": 1, "human": 2}, {"stations.nearby": 2})]


@pytest.mark.parametrize(("was", "outcome"), [
    ("suggest", "picked"),  # no ask of it ended with a list
    ("human", "none"), ("picked", "suggest"), ("none", "picked"),  # never to a weaker (or impossible) outcome
])
def test_a_follow_up_without_an_ask_to_move_changes_nothing(store: Store, was: str, outcome: str) -> None:
    store.record_unanswered("高温费怎么领", "none")
    store.follow_up_unanswered("高温费怎么领", "none", "human")
    before = store.unanswered()
    store.follow_up_unanswered("高温费怎么领", was, outcome, "x.y")
    store.follow_up_unanswered("没记下的问题", "none", "human")  # forgotten since (or never kept): not recorded
    assert store.unanswered() == before == [("高温费怎么领", 1, {"human": 1}, {})]


def test_a_record_of_an_older_version_is_followed_up_as_its_last_outcome_for_every_ask(store: Store) -> None:
    store.redis.zadd(store.key("gaps", "count"), {"电动车丢了": 2})
    store.redis.hset(store.key("gaps", "outcome"), "电动车丢了", "suggest")
    store.follow_up_unanswered("电动车丢了", "suggest", "picked", "stations.nearby")
    store.record_unanswered("电动车丢了", "none")
    assert store.unanswered() == [("电动车丢了", 3, {"none": 1, "suggest": 1, "picked": 1}, {"stations.nearby": 1})]


def test_geo_nearest_and_replace(store: Store) -> None:
    store.replace_geo("stations", [("A", 30.2741, 120.1551), ("B", 30.2800, 120.1600), ("C", 31.2304, 121.4737)])
    nearest = store.nearest("stations", 30.2745, 120.1555, count=2)
    assert [code for code, _ in nearest] == ["A", "B"]
    assert nearest[0][1] < nearest[1][1] < 2
    store.replace_geo("stations", [("C", 31.2304, 121.4737)])
    assert [code for code, _ in store.nearest("stations", 30.2745, 120.1555)] == ["C"]
    store.replace_geo("stations", [])
    assert store.nearest("stations", 30.2745, 120.1555) == []


def test_unreachable_redis_raises_store_unavailable() -> None:
    store = Store.from_url("redis://127.0.0.1:1/0")
    assert store.ping() is False
    with pytest.raises(StoreUnavailable):
        store.begin_turn("u1", "msg:1")
    with pytest.raises(StoreUnavailable), store.lock("x"):
        pass


def test_turn_claims_locks_reads_and_saves(store: Store) -> None:
    store.save_state("u1", {"flow": "join"})
    turn = store.begin_turn("u1", "msg:10")
    assert turn is not None and turn.state == {"flow": "join"}
    assert store.begin_turn("u1", "msg:10") is None  # a retry: claimed already
    with pytest.raises(LockTimeout):
        store.begin_turn("u1", "msg:11", wait=0.05)  # same user, other message: waits on the lock
    store.finish_turn(turn, {"flow": "join", "step": 2}, b"<xml>r</xml>",
                      also=lambda batch: batch.set_value("extra", "1"))
    assert state_of(store, "u1") == {"flow": "join", "step": 2}
    assert store.reply_for("msg:10") == b"<xml>r</xml>"
    assert store.get_value("extra") == "1"
    second = store.begin_turn("u1", "msg:11")  # unlocked, and the timed-out claim was released
    assert second is not None and second.state == {"flow": "join", "step": 2}
    store.abandon_turn(second)
    third = store.begin_turn("u1", "msg:11")  # abandoned: the retry runs again
    assert third is not None


def test_unanswered_questions_ride_in_the_turns_last_batch(store: Store) -> None:
    turn = store.begin_turn("u4", "msg:40")
    assert turn is not None
    store.finish_turn(turn, {}, b"r", also=lambda batch: batch.record_unanswered("高温费怎么领", "none"))
    assert store.unanswered() == [("高温费怎么领", 1, {"none": 1}, {})]


def test_turn_waits_for_the_lock_and_reads_the_state_saved_meanwhile(store: Store) -> None:
    first = store.begin_turn("u2", "msg:20")
    assert first is not None
    timer = threading.Timer(0.05, store.finish_turn, args=(first, {"n": 1}, b"r1"))
    timer.start()
    second = store.begin_turn("u2", "msg:21", wait=5)
    timer.join()
    assert second is not None and second.state == {"n": 1}


def test_a_stale_lock_holder_cannot_unlock_the_next_holder(store: Store) -> None:
    first = store.begin_turn("u3", "msg:30", lock_ttl=0.05)
    assert first is not None
    second = store.begin_turn("u3", "msg:31", wait=5)  # first's lock expired
    assert second is not None
    store.finish_turn(first, {"late": True}, b"r")  # must not release second's lock
    with pytest.raises(LockTimeout):
        store.begin_turn("u3", "msg:32", wait=0.05)


def test_wait_reply_stops_waiting_once_nobody_holds_the_claim(store: Store) -> None:
    assert store.begin_turn("u5", "msg:50") is not None
    store.redis.delete(store.key("seen", "msg:50"))  # as when the claim of a killed worker expires
    assert store.wait_reply("msg:50", timeout=60) is None  # at once, not after a minute


def test_claims_and_locks_are_short_until_renewed_then_kept_for_retries(store: Store) -> None:
    turn = store.begin_turn("u6", "msg:60", lock_ttl=2)
    seen, lock = store.key("seen", "msg:60"), store.key("lock", "user", "u6")
    assert 0 < store.redis.pttl(seen) <= 2000 and 0 < store.redis.pttl(lock) <= 2000
    store.renew_turns([turn], ttl=30)
    assert store.redis.pttl(seen) > 2000 and store.redis.pttl(lock) > 2000
    store.finish_turn(turn, {}, b"<xml/>")
    assert store.redis.ttl(seen) > 60 and not store.redis.exists(lock)
