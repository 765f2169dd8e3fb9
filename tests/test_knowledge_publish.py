"""Publishing: an edit on one host reaches workers on other hosts (own knowledge copies, one
shared store) within a reload interval; a broken snapshot never replaces the last good one."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.knowledge import write_knowledge

from bot.curation.actions import Curation
from bot.curation.publish import publish_folder
from bot.faq.knowledge import Knowledge, KnowledgeError, KnowledgeSource
from bot.faq.matcher import Matcher
from bot.storage.published import PublishedKnowledge
from bot.storage.store import Store, StoreUnavailable


def LEXICAL(knowledge: Knowledge) -> Matcher:  # noqa: N802  (used like a constant)
    return Matcher(knowledge, semantic=False)


FAQ = """\
topic: 会员
entries:
  - id: member.leave
    question: 会员怎样办理退会？
    similar:
      - 不想做会员了怎么办
    answer: 在公众号里申请退会。
  - id: member.dues
    question: 会员需要缴纳会费吗？
    answer: 入会不收费。
"""


def host(tmp_path: Path, name: str) -> Path:
    """One host's own copy of the knowledge folder."""
    return write_knowledge(tmp_path / name, FAQ)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def source(root: Path, store: Store, clock: Clock) -> KnowledgeSource:
    return KnowledgeSource(root, LEXICAL, reload_interval=2.0, clock=clock, published=PublishedKnowledge(store))


def test_an_attach_on_one_host_reaches_a_worker_on_another(tmp_path: Path, store: Store) -> None:
    a, b = host(tmp_path, "a"), host(tmp_path, "b")
    clock = Clock()
    worker_a, worker_b = source(a, store, clock), source(b, store, clock)
    assert worker_b.matcher() is not None and worker_b.version is None  # nothing published: own files
    outcome = Curation(a, store, clock=lambda: 1000.0, shared=True).attach("退会手续怎么办", "member.leave", by="王芳")
    assert outcome.published is not None and outcome.published.version == 1 and outcome.notice is None
    clock.now = 1.0
    assert "退会手续怎么办" not in worker_b.matcher().knowledge.by_id["member.leave"].similar  # not yet checked
    clock.now = 2.5
    for worker in (worker_a, worker_b):
        matcher = worker.matcher()
        assert "退会手续怎么办" in matcher.knowledge.by_id["member.leave"].similar
        assert worker.version == 1 and worker.last_error is None
        assert matcher.match("退会手续怎么办").best.entry_id == "member.leave"
    assert "退会手续怎么办" not in (b / "faq" / "member.yaml").read_text(encoding="utf-8")  # b's files untouched
    snapshot = PublishedKnowledge(store).snapshot()
    assert (snapshot.version, snapshot.by, snapshot.at) == (1, "王芳", 1000.0)


def test_a_published_version_wins_over_local_files(tmp_path: Path, store: Store) -> None:
    a, b = host(tmp_path, "a"), host(tmp_path, "b")
    clock = Clock()
    worker_b = source(b, store, clock)
    publish_folder(a, PublishedKnowledge(store), by="cli", at=1.0)
    assert worker_b.matcher() is not None and worker_b.version == 1
    (b / "faq" / "member.yaml").write_text(FAQ.replace("入会不收费。", "只改了本机文件。"), encoding="utf-8")
    clock.now = 5.0
    assert worker_b.matcher().knowledge.by_id["member.dues"].answer == "入会不收费。"
    publish_folder(b, PublishedKnowledge(store), by="cli", at=2.0)  # publish makes it live
    clock.now = 10.0
    assert worker_b.matcher().knowledge.by_id["member.dues"].answer == "只改了本机文件。"
    assert worker_b.version == 2


def test_publishing_the_same_folder_twice_pushes_nothing(tmp_path: Path, store: Store) -> None:
    a = host(tmp_path, "a")
    published = PublishedKnowledge(store)
    first = publish_folder(a, published, by="cli", at=1.0)
    again = publish_folder(a, published, by="cli", at=2.0)
    assert (first.version, first.unchanged, again.version, again.unchanged) == (1, False, 1, True)


def test_an_invalid_folder_is_not_published(tmp_path: Path, store: Store) -> None:
    a = host(tmp_path, "a")
    (a / "faq" / "member.yaml").write_text(FAQ + "  - id: broken\n", encoding="utf-8")
    with pytest.raises(KnowledgeError):
        publish_folder(a, PublishedKnowledge(store), by="cli", at=1.0)
    assert PublishedKnowledge(store).version() is None


def test_a_broken_snapshot_keeps_the_last_good_version_serving(tmp_path: Path, store: Store) -> None:
    b = host(tmp_path, "b")
    published = PublishedKnowledge(store)
    clock = Clock()
    worker = source(b, store, clock)
    good = {"faq/member.yaml": FAQ.replace("入会不收费。", "发布的版本。").encode()}
    published.publish(good, by="cli", at=1.0, fingerprint="good")
    assert worker.matcher().knowledge.by_id["member.dues"].answer == "发布的版本。"
    # written behind publish_folder's back (an older or newer program, a hand-made key)
    published.publish({"faq/member.yaml": b"topic: x\nentries: [\n"}, by="cli", at=2.0, fingerprint="bad")
    clock.now = 3.0
    matcher = worker.matcher()
    assert matcher.knowledge.by_id["member.dues"].answer == "发布的版本。"
    assert worker.version == 1 and "published v2/faq/member.yaml" in worker.last_error
    store.redis.hset(store.key("knowledge", "snapshot"), "body", "not json")
    store.redis.incr(store.key("knowledge", "version"))
    clock.now = 6.0
    assert worker.matcher() is matcher and "unreadable" in worker.last_error
    published.publish(good, by="cli", at=3.0, fingerprint="good")
    clock.now = 9.0
    assert worker.matcher() is not matcher and worker.version == 4 and worker.last_error is None


def test_a_broken_snapshot_at_start_serves_the_local_files(tmp_path: Path, store: Store) -> None:
    PublishedKnowledge(store).publish({"faq/member.yaml": b"topic: [\n"}, by="cli", at=1.0, fingerprint="bad")
    worker = source(host(tmp_path, "b"), store, Clock())
    matcher = worker.matcher()
    assert matcher is not None and worker.version is None
    assert matcher.knowledge.by_id["member.dues"].answer == "入会不收费。"
    assert "published v1/faq/member.yaml" in worker.last_error


def test_an_unreachable_store_keeps_serving_and_a_first_load_falls_back_to_files(tmp_path: Path) -> None:
    class Down:
        def version(self) -> int | None:
            raise StoreUnavailable("connection refused")

        def snapshot(self) -> None:
            raise AssertionError("not asked")

    now = [0.0]
    worker = KnowledgeSource(host(tmp_path, "b"), LEXICAL, clock=lambda: now[0], published=Down())
    matcher = worker.matcher()
    assert matcher is not None and worker.version is None
    now[0] += 60  # past reload_interval: it asks again, the store is still down
    assert worker.matcher() is matcher and worker.version is None


def test_publish_command(tmp_path: Path, store: Store, monkeypatch, request: pytest.FixtureRequest) -> None:
    from click.testing import CliRunner

    from bot.cli import main

    if store.embedded:  # memory:// is per process: the command refuses to "publish" there
        monkeypatch.setenv("UNIONBOT_STORE_URL", f"memory://{store.prefix}")
        res = CliRunner().invoke(main, ["faq", "publish", "--knowledge", str(host(tmp_path, "a"))])
        assert res.exit_code == 1 and "memory://" in res.output
        return
    monkeypatch.setenv("UNIONBOT_STORE_URL", request.getfixturevalue("real_redis_url"))
    monkeypatch.setenv("UNIONBOT_STORE_KEY_PREFIX", store.prefix)
    a = host(tmp_path, "a")
    res = CliRunner().invoke(main, ["faq", "publish", "--knowledge", str(a), "--by", "李明"])
    assert res.exit_code == 0 and "已发布第 1 版" in res.output, res.output
    res = CliRunner().invoke(main, ["faq", "publish", "--knowledge", str(a)])
    assert res.exit_code == 0 and "与已发布的第 1 版相同" in res.output
    (a / "faq" / "member.yaml").write_text("topic: [\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["faq", "publish", "--knowledge", str(a)])
    assert res.exit_code == 1 and "没有发布" in res.output and PublishedKnowledge(store).version() == 1


WORKER = """
import json, os, sys, time
from bot.faq.knowledge import KnowledgeSource
from bot.faq.matcher import Matcher
from bot.storage.published import PublishedKnowledge
from bot.storage.store import Store
store = Store.from_url(sys.argv[3], prefix=sys.argv[4])
source = KnowledgeSource(sys.argv[1], lambda k: Matcher(k, semantic=False), reload_interval=0.1, published=PublishedKnowledge(store))
out = sys.argv[2]
while True:
    m = source.matcher()
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"similar": list(m.knowledge.by_id["member.leave"].similar), "version": source.version}, f,
                  ensure_ascii=False)
    os.replace(tmp, out)
    time.sleep(0.05)
"""


@pytest.mark.redis
def test_a_worker_process_with_its_own_copy_picks_up_a_publish(tmp_path: Path, real_redis_url: str) -> None:
    import uuid

    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    store = Store.from_url(real_redis_url, prefix=prefix)
    status = tmp_path / "worker.json"
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(host(tmp_path, "b")), str(status), real_redis_url,
                             prefix], cwd=root)
    try:
        _wait(status, lambda s: s["version"] is None)
        Curation(host(tmp_path, "a"), store, shared=True).attach("退会手续怎么办", "member.leave", by="cli")
        state = _wait(status, lambda s: s["version"] == 1)
        assert "退会手续怎么办" in state["similar"]
    finally:
        proc.kill()
        proc.wait()
        keys = list(store.redis.scan_iter(match=prefix + "*"))
        if keys:
            store.redis.delete(*keys)


def _wait(path: Path, predicate, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    state: dict = {}
    while time.monotonic() < deadline:
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {}
        if state and predicate(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"worker did not pick up the publish: {state}")


@pytest.mark.redis
def test_services_poll_the_published_version_on_a_shared_store(tmp_path: Path, real_redis_url: str) -> None:
    """The composition root wires publishing in for a shared Redis, not for memory://."""
    import uuid

    from bot.config import load_config
    from bot.services import Services

    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    env = {"UNIONBOT_STORE_URL": real_redis_url, "UNIONBOT_STORE_KEY_PREFIX": prefix,
           "UNIONBOT_KNOWLEDGE_DIR": str(host(tmp_path, "b")),
           "UNIONBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    services = Services.from_config(load_config(environ=env))
    try:
        assert services.knowledge.matcher() is not None and services.knowledge.version is None
        Curation(host(tmp_path, "a"), services.store).attach("退会手续怎么办", "member.leave", by="cli")
        services.knowledge.clock = lambda: time.monotonic() + 60  # past reload_interval: it asks again
        assert services.knowledge.matcher() is not None and services.knowledge.version == 1
        assert services.knowledge.matcher().match("退会手续怎么办").best.entry_id == "member.leave"
    finally:
        keys = list(services.store.redis.scan_iter(match=prefix + "*"))
        if keys:
            services.store.redis.delete(*keys)
    local = Services.from_config(load_config(environ={**env, "UNIONBOT_STORE_URL": f"memory://{prefix}"}))
    PublishedKnowledge(local.store).publish({"faq/member.yaml": b"topic: [\n"}, by="cli", at=1.0, fingerprint="x")
    assert local.knowledge.matcher() is not None and local.knowledge.version is None  # files, as before
