"""A membership application as the signup flow hands it to the registry."""

from __future__ import annotations

from datetime import date

from support.ids import make_id

ID_1 = make_id(date(1990, 3, 7), 122)  # check character X
ID_2 = make_id(date(1985, 11, 20), 2)
ID_3 = make_id(date(2000, 1, 1), 4)


def application(openid: str = "o-worker-1", id_number: str = ID_1, **overrides: str) -> dict[str, str]:
    app = {
        "openid": openid, "name": "张三丰", "phone": "13812345678", "id_number": id_number,
        "birth_date": f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}", "gender": "男",
        "occupation": "快递员", "employer": "顺丰速运青溪网点", "station_code": "ST001",
    }
    app.update(overrides)
    return app
