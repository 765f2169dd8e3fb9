"""A registry with members in every status, for the member-notice tests: three approved 快递员 at
ST001, one approved 网约送餐员 at ST002, and at ST001 one pending, one rejected, one withdrawn."""

from __future__ import annotations

from bot.registry import staff
from bot.registry.repository import Registry
from support.applications import application
from support.ids import nth_id

STATIONS = [
    {"code": "ST001", "name": "青溪驿站", "latitude": 29.1, "longitude": 119.6},
    {"code": "ST002", "name": "城东驿站", "latitude": 29.2, "longitude": 119.7},
]
ST001_APPROVED = ["o-a1", "o-a2", "o-a3"]
ST002_APPROVED = ["o-b1"]
NOT_APPROVED = ["o-pending", "o-rejected", "o-withdrawn"]


def seed_members(registry: Registry) -> None:
    registry.sync_stations(STATIONS)
    ids = (nth_id(n) for n in range(1000, 1100))
    for openid in ST001_APPROVED:
        number = registry.register(application(openid=openid, id_number=next(ids), name="张三丰")).member["number"]
        registry.approve(number, "staff:boss")
    rider = registry.register(application(openid="o-b1", id_number=next(ids), name="李四", station_code="ST002",
                                          occupation="网约送餐员")).member["number"]
    registry.approve(rider, "staff:boss")
    registry.register(application(openid="o-pending", id_number=next(ids), name="王五"))
    rejected = registry.register(application(openid="o-rejected", id_number=next(ids), name="赵六")).member["number"]
    registry.reject(rejected, "staff:boss", "信息不符")
    withdrawn = registry.register(application(openid="o-withdrawn", id_number=next(ids), name="钱七")).member["number"]
    registry.approve(withdrawn, "staff:boss")
    staff.withdraw(registry, withdrawn, "staff:boss", "本人申请")
