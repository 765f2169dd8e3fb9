"""Prometheus metrics: what operators watch (messages, latency, matcher, signups, errors, retries).

Under ``unionbot serve`` every gunicorn worker writes its numbers to files in
``$PROMETHEUS_MULTIPROC_DIR`` (set up by ``serve``), and ``/metrics`` on any worker adds up all of
them; without that directory (tests, ``chat``) the numbers are this process's own.
"""

from __future__ import annotations

import ipaddress
import os
import threading

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from bot.core.conversation import Outcome

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

disable_created_metrics()  # the *_created series only double the page

MESSAGES = Counter("unionbot_messages", "Messages and events handled, by type and outcome.",
                   ["kind", "outcome"])
REPLY_SECONDS = Histogram("unionbot_reply_seconds", "Time to answer WeChat's request (the webhook).",
                          buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0))
MATCHES = Counter("unionbot_faq_matches", "FAQ matcher results, by outcome.", ["outcome"])
MATCH_SECONDS = Histogram("unionbot_faq_match_seconds", "Time the FAQ matcher takes for one question.",
                          buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0))
SIGNUPS = Counter("unionbot_signups", "Applications submitted at 确认, by result.", ["result"])
STORE_ERRORS = Counter("unionbot_store_errors", "Redis failures met while answering messages.")
DATABASE_ERRORS = Counter("unionbot_database_errors", "Database calls that failed or were not waited for.",
                          ["kind"])
RETRIES = Counter("unionbot_retries", "WeChat retries of a message already claimed, by what they got.",
                  ["result"])
LATE_REPLIES = Counter("unionbot_late_replies", "Replies ready after the deadline, by how they went out.",
                       ["via"])
KNOWLEDGE = Gauge("unionbot_knowledge_info", "The knowledge version (fingerprint) being served: 1.",
                  ["version"], multiprocess_mode="livemax")

for _counter, _values in ((MATCHES, ("answer", "suggest", "none")),
                          (SIGNUPS, ("created", "existing", "id_taken", "unavailable")),
                          (DATABASE_ERRORS, ("busy", "timeout", "unavailable", "down")),
                          (RETRIES, ("replied", "in_progress", "rerun")),
                          (LATE_REPLIES, ("customer_service", "next_message"))):
    for _value in _values:  # shown at 0 from the start, so rates and alerts work before the first event
        _counter.labels(_value)

_knowledge_lock = threading.Lock()
_knowledge_version: str | None = None


def message_outcome(outcome: Outcome) -> str:
    """What a routed message came to: answered, list, not_found, flow or human."""
    if outcome.transfer_to_human:
        return "human"
    if outcome.state.get("flow"):
        return "flow"
    if any(e.kind == "record_unanswered" and e.data.get("outcome") == "none" for e in outcome.effects):
        return "not_found"
    if outcome.state.get("suggestions"):
        return "list"
    return "answered"


def knowledge_version(version: str) -> None:
    """Note the knowledge version this process serves (cheap when unchanged)."""
    global _knowledge_version
    if version == _knowledge_version:
        return
    with _knowledge_lock:
        if _knowledge_version is not None:
            KNOWLEDGE.labels(_knowledge_version).set(0)
        KNOWLEDGE.labels(version).set(1)
        _knowledge_version = version


def exposition() -> tuple[bytes, str]:
    """The metrics page and its content type: every worker's numbers under gunicorn."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def allowed(remote_addr: str | None, forwarded_for: str | None, allow: tuple[str, ...],
            trust_forwarded_for: bool) -> bool:
    """May this client read /metrics? Loopback and ``allow`` only.

    X-Forwarded-For is anyone's to write: unless the operator trusts it, a request carrying it came
    through a proxy from an unknown client and is refused (the proxy itself is often loopback).
    """
    if forwarded_for:
        if not trust_forwarded_for:
            return False
        remote_addr = forwarded_for.split(",")[-1].strip()
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    if address.is_loopback:
        return True
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in allow)
