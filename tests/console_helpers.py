"""A staff console over a seeded registry and store, shared by the console's tests."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from flask import Flask
from flask.testing import FlaskClient
from support.ids import make_id
from test_registry import ID_2, ID_3, application

from bot.config import AdminConfig, Config, DatabaseConfig, KnowledgeConfig
from bot.registry import staff
from bot.registry.repository import Registry
from bot.services import Services
from bot.signup.privacy import IdCipher, generate_key
from bot.storage import stats
from bot.storage.store import Store
from bot.web.app import create_app

NOW = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)  # 10:00 in the union's time zone
PASSWORD = "correct horse 1"
USERS = {"boss": "admin", "rita": "reviewer", "eddie": "editor"}
ID_4 = make_id(dt.date(1992, 2, 2), 3)
ID_5 = make_id(dt.date(1993, 3, 3), 4)
STATIONS = [
    {"code": "ST001", "name": "青溪驿站", "address": "青溪路 1 号", "latitude": 29.1, "longitude": 119.6,
     "hours": "8:00-20:00"},
    {"code": "ST002", "name": "城东驿站", "address": "城东路 2 号", "latitude": 29.2, "longitude": 119.7,
     "hours": "全天"},
]


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()


@dataclass
class Console:
    app: Flask
    services: Services
    registry: Registry
    clock: Clock

    def close(self) -> None:
        self.registry.close()


def build_console(database_url: str, store: Store, knowledge_dir: str = "knowledge") -> Console:
    """Two stations, five applications (four pending, one approved), three staff accounts, a few
    counted questions and one 人工 request."""
    clock = Clock(NOW - dt.timedelta(days=3))
    config = replace(Config(), database=DatabaseConfig(url=database_url),
                     knowledge=KnowledgeConfig(dir=knowledge_dir),
                     admin=AdminConfig(secret_key="k" * 40, max_failed_logins=3))
    registry = Registry.from_url(database_url, IdCipher(generate_key()), clock=clock)
    registry.upgrade()
    registry.sync_stations(STATIONS)
    for username, role in USERS.items():
        staff.create_user(registry, username, role, PASSWORD)
    registry.register(application(openid="o-zhang", consents=[{"what": "privacy", "at": clock.epoch(),
                                                              "notice": "abc123"}]))
    registry.register(application(openid="o-wang", id_number=ID_2, name="王五", phone="13700002222",
                                  station_code="ST002", occupation="外卖骑手"))
    clock.now = NOW - dt.timedelta(days=1)
    registry.register(application(openid="o-li", id_number=ID_3, name="李四", phone="13900001111"))
    registry.register(application(openid="o-zhao", id_number=ID_4, name="赵六", phone="13600003333"))
    done = registry.register(application(openid="o-qian", id_number=ID_5, name="钱七", phone="13500004444"))
    registry.approve(done.member["number"], "staff:boss")
    clock.now = NOW
    services = Services(config=config, store=store, registry=registry, knowledge=None,
                        clock=clock.epoch)
    for outcome, n in (("answered", 5), ("list", 2), ("not_found", 3), ("human", 1)):
        for _ in range(n):
            stats.count_question(store, outcome, NOW.timestamp() - 3600)
    stats.remember_message(store, "o-wang", "我的电话 13700002222 工资被拖欠了", NOW.timestamp() - 120)
    stats.record_human_request(store, "o-wang", NOW.timestamp() - 60)
    store.record_unanswered("高温补贴怎么申请", "none")
    return Console(create_app(config, services), services, registry, clock)


def csrf(client: FlaskClient, path: str = "/admin/login") -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def log_in(client: FlaskClient, username: str) -> None:
    response = client.post("/admin/login", data={"username": username, "password": PASSWORD,
                                                 "csrf_token": csrf(client)})
    assert response.status_code == 302, response.get_data(as_text=True)


def numbers(registry: Registry, status: str) -> list[str]:
    return [m["number"] for m in registry.list_members(status=status)]
