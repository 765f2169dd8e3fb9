"""The vocabulary every handler speaks: an incoming message, the conversation state, an outcome.

Handlers are pure: ``handle(state, message, context) -> Outcome | None``. They read the
world only through the read-only services in :class:`Context` and change it only by
returning :class:`Effect` objects, which the shell carries out after the state is saved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.core.duty import DutySchedule

State = dict[str, Any]
"""Per-user conversation state. Must stay JSON-serialisable: it lives in Redis.

Keys in use: ``flow`` (name of the active flow or absent), one key per flow for its own
data (e.g. ``join``), ``suggestions`` (entry ids of the last numbered list), ``gap`` (the last question
not answered directly, masked, with its outcome and when: see handlers/faq.py).
"""


@dataclass(frozen=True)
class Incoming:
    """One message or event from a worker, reduced to what handlers need."""

    user: str
    kind: str
    """text, voice, image, video, shortvideo, location, link, event, unknown."""
    text: str = ""
    """Text content; for voice, WeChat's ``Recognition`` (empty when absent)."""
    event: str = ""
    """For kind == "event": subscribe, unsubscribe, scan, click, view, location, templatesendjobfinish…"""
    event_key: str = ""
    """Menu key, or the QR scene value (``join:ST001``) with any ``qrscene_`` prefix removed."""
    latitude: float | None = None
    longitude: float | None = None
    label: str = ""
    msg_id: str = ""
    create_time: int = 0
    account: str = ""
    """The official account's own id (``ToUserName``); replies are sent from it."""

    @property
    def is_text_like(self) -> bool:
        """Text typed, or a voice message WeChat transcribed."""
        return self.kind == "text" or (self.kind == "voice" and bool(self.text))


@dataclass(frozen=True)
class Effect:
    """Something to do in the world once the new state is saved (write a member, send a notice).

    ``kind`` selects the runner registered with the webhook; ``data`` is its JSON-able input.
    Runners are idempotent: a WeChat retry may deliver the same effect twice.
    """

    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a handler decided: the new state, the text to send, effects to carry out."""

    state: State
    replies: tuple[str, ...] = ()
    effects: tuple[Effect, ...] = ()
    transfer_to_human: bool = False
    """Answer with WeChat's ``transfer_customer_service`` so a person picks up the chat."""


class MemberDirectory(Protocol):
    """Read-only view of the member registry that handlers may consult."""

    def find_by_openid(self, openid: str) -> Mapping[str, Any] | None: ...

    def id_number_taken(self, id_number: str, openid: str) -> bool:
        """Whether another WeChat account than ``openid`` applied with this ID number."""
        ...


class LookupUnavailable(RuntimeError):
    """A read-only service could not answer now (its database is down or slow): not the same as "none"."""


class StationFinder(Protocol):
    """Read-only view of stations: by code, all active ones, and nearest to a point."""

    def station(self, code: str) -> Mapping[str, Any] | None:
        """The station with this code, or None for an unknown code.

        Raises :class:`LookupUnavailable` when it cannot check now: a scan then keeps its code.
        """
        ...

    def all(self) -> list[Mapping[str, Any]]: ...

    def nearest(self, latitude: float, longitude: float, count: int = 3) -> list[Mapping[str, Any]]: ...


@dataclass(frozen=True)
class Context:
    """Read-only services and settings a handler may use. Built per message by the shell."""

    hotline: str = "12351"
    office_hours: str = ""
    union_name: str = "县总工会"
    now: float = 0.0
    faq: Callable[[], Any] | None = None
    """Returns the current FAQ matcher (hot-reloaded); None when no knowledge is loaded."""
    members: MemberDirectory | None = None
    stations: StationFinder | None = None
    station_radius_km: float = 50.0
    """A location farther than this from every station is outside the county: no list of far stations."""
    duty: DutySchedule | None = None
    """When someone answers 人工 requests (``[notify] duty_days``/``duty_hours``); None: not said."""


Handler = Callable[[State, Incoming, Context], Outcome | None]
"""Returns None when the message is not for this handler, so the router tries the next."""
