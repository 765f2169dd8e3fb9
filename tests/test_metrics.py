"""/metrics (Prometheus text), /healthz (liveness) and /readyz (readiness)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import Config, DatabaseConfig, KnowledgeConfig, MetricsConfig, StoreConfig, WechatConfig
from bot.services import Services
from bot.web.app import create_app
from bot.wechat.simulator import Simulator, flask_transport

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


@pytest.fixture(autouse=True)
def single_process_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's own metrics, even if a multiprocess directory is set in the environment."""
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


def make_bot(tmp_path: Path, schema: bool = True, **changes) -> tuple[Services, Simulator, object]:
    config = Config(
        wechat=WechatConfig(token="metrics-token"),
        store=StoreConfig(url=f"memory://{uuid.uuid4().hex}"),
        database=DatabaseConfig(url=f"sqlite:///{tmp_path / 'bot.db'}"),
        knowledge=KnowledgeConfig(dir=str(KNOWLEDGE), semantic="off"),
    )
    config = replace(config, **changes)
    services = Services.from_config(config)
    if schema:
        services.registry.create_schema()
    app = create_app(config, services)
    return services, Simulator(config.wechat, flask_transport(app)), app.test_client()


def samples(client) -> dict[tuple[str, tuple], float]:
    page = client.get("/metrics")
    assert page.status_code == 200 and page.content_type.startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(page.get_data(as_text=True)) for s in family.samples}


def count(values: dict, name: str, **labels: str) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_message_counter_grows_with_traffic_by_type_and_outcome(tmp_path: Path) -> None:
    services, sim, client = make_bot(tmp_path)
    before = samples(client)
    sim.post(sim.text("m1", "会费怎么交"))
    sim.post(sim.text("m2", "会费怎么交"))
    sim.post(sim.text("m3", "我家猫不吃饭怎么办"))
    sim.post(sim.text("m4", "入会"))
    sim.post(sim.text("m5", "人工"))
    after = samples(client)

    def grew(name: str, **labels: str) -> float:
        return count(after, name, **labels) - count(before, name, **labels)

    assert grew("unionbot_messages_total", kind="text", outcome="answered") == 2
    assert grew("unionbot_messages_total", kind="text", outcome="not_found") == 1
    assert grew("unionbot_messages_total", kind="text", outcome="flow") == 1
    assert grew("unionbot_messages_total", kind="text", outcome="human") == 1
    assert grew("unionbot_reply_seconds_count") == 5
    assert grew("unionbot_faq_matches_total", outcome="answer") == 2
    assert grew("unionbot_faq_match_seconds_count") >= 3
    version = services.knowledge.knowledge.fingerprint
    assert count(after, "unionbot_knowledge_info", version=version) == 1


def test_every_documented_metric_is_exposed(tmp_path: Path) -> None:
    _, sim, client = make_bot(tmp_path)
    sim.post(sim.text("m6", "会费怎么交"))
    names = {name for name, _ in samples(client)}
    families = {n.removesuffix("_total").removesuffix("_count").removesuffix("_sum").removesuffix("_bucket")
                .removesuffix("_created") for n in names}
    for family in ("unionbot_messages", "unionbot_reply_seconds", "unionbot_faq_matches",
                   "unionbot_faq_match_seconds", "unionbot_knowledge_info"):
        assert family in families, family
    text = client.get("/metrics").get_data(as_text=True)
    for family in ("unionbot_signups", "unionbot_store_errors", "unionbot_database_errors", "unionbot_retries",
                   "unionbot_late_replies"):
        assert f"# TYPE {family}_total counter" in text, family


def test_a_wechat_retry_is_counted(tmp_path: Path) -> None:
    _, sim, client = make_bot(tmp_path)
    body = sim.text("m7", "会费怎么交", msg_id=55501)
    before = count(samples(client), "unionbot_retries_total", result="replied")
    first, retry = sim.post(body), sim.post(body)
    assert retry.body == first.body
    assert count(samples(client), "unionbot_retries_total", result="replied") - before == 1


def test_metrics_are_refused_to_addresses_not_allowed(tmp_path: Path) -> None:
    _, _, client = make_bot(tmp_path, metrics=MetricsConfig(allow=("10.1.0.0/16", "192.0.2.7")))
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    # a proxy on loopback forwarding someone's request: the header is not trusted by default
    forwarded = {"X-Forwarded-For": "10.1.2.3"}
    assert client.get("/metrics", headers=forwarded).status_code == 403


def test_a_trusted_proxy_header_names_the_client(tmp_path: Path) -> None:
    _, _, client = make_bot(tmp_path, metrics=MetricsConfig(allow=("10.1.0.0/16",), trust_forwarded_for=True))
    assert client.get("/metrics", headers={"X-Forwarded-For": "1.2.3.4, 10.1.2.3"}).status_code == 200
    assert client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3, 203.0.113.9"}).status_code == 403


def test_not_ready_until_the_knowledge_is_loaded_and_while_the_database_is_down(tmp_path: Path) -> None:
    empty = tmp_path / "no-knowledge"
    empty.mkdir()
    services, _, client = make_bot(tmp_path, knowledge=KnowledgeConfig(dir=str(empty), semantic="off"))
    assert client.get("/healthz").status_code == 200
    page = client.get("/readyz")
    assert page.status_code == 503 and page.json["knowledge"].startswith("not loaded")
    (tmp_path / "down").mkdir()
    _, _, down = make_bot(tmp_path / "down", schema=False,
                          database=DatabaseConfig(url=f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"))
    page = down.get("/readyz")
    assert page.status_code == 503 and page.json["database"] != "ok"
