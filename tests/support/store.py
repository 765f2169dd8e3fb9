"""Reading the store as the bot does, for assertions."""

from __future__ import annotations

import uuid
from typing import Any

from bot.storage.store import Store


def state_of(store: Store, user: str) -> dict[str, Any]:
    """The user's state as their next message's turn reads it (the turn is then given up)."""
    turn = store.begin_turn(user, f"read:{uuid.uuid4().hex}")
    assert turn is not None
    store.abandon_turn(turn)
    return dict(turn.state)
