"""Small counters for the staff console: questions per hour by outcome, and who asked for a person.

Counts are kept per UTC hour (``at // 3600``) so the console can add them up into days of any
time zone. Workers' recent messages are kept masked (no full mobile or ID number) and only for the
48 hours in which staff can still answer them in WeChat's customer-service tool.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

from bot.signup.privacy import mask_numbers
from bot.storage.store import Store

OUTCOMES = ("answered", "list", "not_found", "human")
OUTCOME_LABELS = {"answered": "直接回答", "list": "给出列表", "not_found": "没找到", "human": "转人工"}
COUNT_TTL = 400 * 86400
WINDOW = 48 * 3600
RECENT_MESSAGES = 5


def count_question(store: Store, outcome: str, at: float) -> None:
    key = store.key("stats", "questions", str(int(at // 3600)))
    with store._writes() as pipe:
        pipe.hincrby(key, outcome, 1)
        pipe.expire(key, COUNT_TTL)


def question_counts(store: Store, days: int, tz: dt.tzinfo, today: dt.date) -> dict[dt.date, Counter[str]]:
    """Questions per local day (the last ``days`` up to ``today``), by outcome."""
    start = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), tzinfo=tz)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    hours = range(int(start.timestamp() // 3600), int(end.timestamp() // 3600))
    pipe = store.redis.pipeline(transaction=False)
    for hour in hours:
        pipe.hgetall(store.key("stats", "questions", str(hour)))
    result = {today - dt.timedelta(days=n): Counter[str]() for n in range(days)}
    for hour, counts in zip(hours, store._call(pipe.execute), strict=True):
        day = dt.datetime.fromtimestamp(hour * 3600, tz).date()
        for outcome, n in counts.items():
            result[day][outcome.decode() if isinstance(outcome, bytes) else outcome] += int(n)
    return dict(sorted(result.items()))


def remember_message(store: Store, user: str, text: str, at: float) -> None:
    """Keep a worker's last few messages, masked, for as long as staff could still answer them."""
    key = store.key("recent", user)
    item = json.dumps({"at": at, "text": mask_numbers(text.strip())[:300]}, ensure_ascii=False)
    with store._writes() as pipe:
        pipe.lpush(key, item)
        pipe.ltrim(key, 0, RECENT_MESSAGES - 1)
        pipe.expire(key, WINDOW)


def record_human_request(store: Store, user: str, at: float) -> None:
    key = store.key("human", "requests")
    with store._writes() as pipe:
        pipe.zadd(key, {user: at})
        pipe.zremrangebyscore(key, "-inf", at - WINDOW)


def human_requests(store: Store, now: float) -> list[dict[str, Any]]:
    """Who asked for a person in the last 48 hours, latest first, each with their last messages."""
    rows = store._call(store.redis.zrevrangebyscore, store.key("human", "requests"), "+inf", now - WINDOW,
                       withscores=True)
    out = []
    for raw, at in rows:
        user = raw.decode() if isinstance(raw, bytes) else raw
        recent = store._call(store.redis.lrange, store.key("recent", user), 0, RECENT_MESSAGES - 1)
        messages = [json.loads(m) for m in reversed(recent)]
        out.append({"user": user, "at": at, "messages": messages})
    return out
