"""The whole app as WeChat sees it, built in process from a config, on an injected clock."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config import Config, DatabaseConfig, KnowledgeConfig, StoreConfig, WechatConfig
from bot.core.conversation import Incoming
from bot.core.router import route as real_route
from bot.services import Route, Services
from bot.web.app import create_app
from bot.wechat.simulator import Simulator, flask_transport
from support.clock import NOW, Clock

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = ROOT / "knowledge"
SAMPLES = ROOT / "tests" / "samples"
"""Real-shaped WeChat pushes, one per message type and event, with {user}, {time}, {msgid}."""
AES_KEY = base64.b64encode(bytes(range(32))).decode()[:-1]
APP_ID = "wx1234567890abcdef"


def make_config(tmp_path: Path, mode: str = "plain", store_url: str | None = None,
                database_url: str | None = None, key_prefix: str = StoreConfig.key_prefix) -> Config:
    """Shipped knowledge, a store of its own (memory:// unless ``store_url``) and a SQLite file in
    ``tmp_path`` unless ``database_url``; no AppSecret, so nothing calls WeChat's API."""
    return Config(
        wechat=WechatConfig(token="test-token", app_id=APP_ID, app_secret="", encoding_aes_key=AES_KEY, mode=mode),
        store=StoreConfig(url=store_url or f"memory://{uuid.uuid4().hex}", key_prefix=key_prefix),
        database=DatabaseConfig(url=database_url or f"sqlite:///{tmp_path / 'bot.db'}"),
        knowledge=KnowledgeConfig(dir=str(KNOWLEDGE)),
    )


def write_config(tmp_path: Path, name: str = "config.toml", **sections: Mapping[str, Any]) -> Path:
    """A config file in ``tmp_path`` for commands that read one (the CLI, a server process): its
    own memory:// store, a SQLite file in ``tmp_path`` and the shipped knowledge, with each of
    ``sections`` (``wechat={"app_id": ...}``) merged over those defaults."""
    config: dict[str, dict[str, Any]] = {
        "store": {"url": f"memory://{uuid.uuid4().hex}"},
        "database": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
        "knowledge": {"dir": str(KNOWLEDGE)},
    }
    for section, values in sections.items():
        config[section] = {**config.get(section, {}), **values}
    # JSON's strings, numbers and arrays are valid TOML values; only booleans are spelled differently
    lines = [f"[{section}]\n" + "".join(f"{key} = {_toml(value)}\n" for key, value in values.items())
             for section, values in config.items()]
    path = tmp_path / name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _toml(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else json.dumps(value, ensure_ascii=False)


class Bot:
    """Config, services, Flask app and a simulator speaking to it, all on one clock; every message
    the router sees is kept in ``routed``. ``migrate``: run the Alembic migrations instead of
    creating the tables directly (slower; as production does)."""

    def __init__(self, tmp_path: Path, mode: str = "plain", route: Route | None = None,
                 store_url: str | None = None, database_url: str | None = None,
                 key_prefix: str = StoreConfig.key_prefix, clock: Clock[float] | None = None,
                 migrate: bool = False) -> None:
        self.clock = clock or Clock(NOW)
        self.config = make_config(tmp_path, mode, store_url, database_url, key_prefix)
        self.routed: list[Incoming] = []
        inner = route or real_route

        def counting_route(state, message, ctx):
            self.routed.append(message)
            return inner(state, message, ctx)

        self.services = Services.from_config(self.config, clock=self.clock, route=counting_route)
        if migrate:
            self.services.registry.upgrade()
        else:
            self.services.registry.create_schema()
        self.app = create_app(self.config, self.services)
        self.sim = self.simulator()

    @property
    def calls(self) -> int:
        """How many messages reached the router (a deduplicated retry does not)."""
        return len(self.routed)

    def simulator(self) -> Simulator:
        """Another simulator with its own test client, e.g. one per thread."""
        return Simulator(self.config.wechat, flask_transport(self.app), clock=self.clock)

    def sample(self, name: str, user: str = "worker1", msg_id: int | None = None,
               create_time: int | None = None) -> str:
        """The push ``tests/samples/NAME.xml`` from ``user``, stamped with the clock's time."""
        template = (SAMPLES / f"{name}.xml").read_text(encoding="utf-8")
        return template.format(user=user, time=create_time or int(self.clock()),
                               msgid=msg_id or uuid.uuid4().int % 10**18)
