"""What looking for waiting notices costs each message: in process (Flask test client, real Redis,
a migrated SQLite file or ``--database``), signed FAQ questions from 50 users, in three modes
taken in turns so that a busy machine weighs on each alike:

- ``off``: no lookup at all (as before outcome notices);
- ``mark``: as shipped: the store mark, a database read only after ``RECHECK`` seconds of silence;
- ``read``: no mark counts, so every message makes a bounded database read.

Prints CPU and wall time per message for each (medians over the rounds), and the cost of one
lookup with a fresh mark and of one database read.

    .venv/bin/python bench/waiting_notices.py [--messages 1000] [--rounds 5] [--database URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Config, DatabaseConfig, KnowledgeConfig, StoreConfig, WechatConfig  # noqa: E402
from bot.core.conversation import Incoming  # noqa: E402
from bot.notify import waiting  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.web.app import create_app  # noqa: E402
from bot.wechat.simulator import Simulator, flask_transport  # noqa: E402

QUESTIONS = ["会费怎么交", "怎么入会", "欠薪了找谁", "送外卖摔伤了怎么办", "12351是干啥的", "帮助"]


def per_message(sim: Simulator, count: int, seed: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per message for ``count`` messages."""
    bodies = [sim.text(f"bench-{i % 50}", QUESTIONS[i % len(QUESTIONS)], msg_id=seed * 10_000_000 + i)
              for i in range(count)]
    cpu, wall = time.process_time(), time.perf_counter()
    for body in bodies:
        assert sim.post(body).status == 200
    return ((time.process_time() - cpu) / count * 1000, (time.perf_counter() - wall) / count * 1000)


def per_call(fn: Callable[[], object], count: int = 2000) -> float:
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return (time.perf_counter() - start) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000, help="messages per mode and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis", default=os.environ.get("UNIONBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--database", help="database URL (default: a SQLite file in a temporary directory)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="unionbot-bench-"))
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    config = Config(wechat=WechatConfig(token="bench-token"), store=StoreConfig(url=args.redis, key_prefix=prefix),
                    database=DatabaseConfig(url=args.database or f"sqlite:///{tmp / 'bench.db'}"),
                    knowledge=KnowledgeConfig(dir=str(ROOT / "knowledge"), semantic="off"))
    services = Services.from_config(config)
    services.registry.upgrade()
    sim = Simulator(config.wechat, flask_transport(create_app(config, services)))
    lookups = services.waiting_notices
    real_find, real_remember, recheck = lookups.find, lookups.remember, waiting.RECHECK

    def mode(name: str) -> None:
        lookups.find, lookups.remember, waiting.RECHECK = real_find, real_remember, recheck
        if name == "off":
            lookups.find = lambda message: waiting.Check(message.user)  # type: ignore[method-assign]
            lookups.remember = lambda batch, check: None  # type: ignore[method-assign]
        elif name == "read":  # no mark counts (those of the other modes neither), none is set
            waiting.RECHECK = 0.0
            lookups.remember = lambda batch, check: None  # type: ignore[method-assign]

    try:
        per_message(sim, 200, seed=1)  # warm up: knowledge, matcher, connections
        figures: dict[str, list[tuple[float, float]]] = {"off": [], "mark": [], "read": []}
        for r in range(args.rounds):
            for i, name in enumerate(figures):
                mode(name)
                figures[name].append(per_message(sim, args.messages, seed=10 + r * 3 + i))
        mode("mark")
        print(f"{args.messages} messages x {args.rounds} rounds, database {services.registry.engine.url.get_backend_name()}")
        for name, runs in figures.items():
            cpu = statistics.median(c for c, _ in runs)
            wall = statistics.median(w for _, w in runs)
            print(f"{name:>5}: CPU {cpu:.3f} ms/msg, wall {wall:.3f} ms/msg")
        message = Incoming(user="bench-0", kind="text", text="会费怎么交")
        lookups.store.set_value(waiting.MARK + message.user, repr(services.clock()), ttl=60)
        print(f"one lookup with a fresh mark (a Redis GET): {per_call(lambda: lookups.find(message)):.0f} us")
        read = per_call(lambda: services.database.call(1.5, waiting.notices.waiting_for, services.registry, "bench-0"))
        print(f"one bounded database read: {read:.0f} us")
    finally:
        client = services.store.redis
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        services.registry.close()


if __name__ == "__main__":
    main()
