"""Messages from a worker, as the handlers receive them (:class:`Incoming`)."""

from __future__ import annotations

from bot.core.conversation import Incoming

USER = "oWorker1"


def text(body: str, user: str = USER, kind: str = "text") -> Incoming:
    """Typed text, or with ``kind="voice"`` a voice message WeChat transcribed."""
    return Incoming(user=user, kind=kind, text=body)


def location(lat: float | None = 30.27, lon: float | None = 120.15, user: str = USER) -> Incoming:
    """A location the worker sent (None: WeChat left the coordinate out)."""
    return Incoming(user=user, kind="location", latitude=lat, longitude=lon, label="城关镇")


def event(name: str, key: str = "", user: str = USER) -> Incoming:
    """An event: a menu click (``event("click", "MEMBER")``), subscribe, a delivery receipt…"""
    return Incoming(user=user, kind="event", event=name, event_key=key)


def scan(code: str = "ST001", event: str = "scan", user: str = USER) -> Incoming:
    """A station poster's QR code scanned (``event="subscribe"`` when the scan also follows)."""
    return Incoming(user=user, kind="event", event=event, event_key=f"join:{code}")
