"""驿站: stations with their signups, posters (PNG and PDF), and the import of stations.yaml."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from pathlib import Path
from typing import Any

from flask import Response, abort, render_template, request
from PIL import Image

from bot.registry import reports, staff
from bot.registry.repository import RegistryError
from bot.stations.directory import StationsError, import_stations
from bot.stations.posters import LOCAL_NOTE, PosterError, local_payload, render_poster, scene_for
from bot.storage.store import StoreUnavailable
from bot.web.admin.base import actor, bp, registry, roles, services
from bot.wechat.api import WechatApiError


def _page(report: Any = None, errors: list[str] | None = None) -> str:
    counts = reports.per_station(registry())
    return render_template("admin/stations.html", stations=registry().stations(active_only=False),
                           counts=counts, report=report, errors=errors or [])


@bp.get("/stations")
def stations() -> Any:
    return _page()


@bp.post("/stations/import")
@roles("editor")
def import_() -> Any:
    svc = services()
    upload = request.files.get("file")
    with tempfile.TemporaryDirectory() as tmp:
        if upload and upload.filename:
            path = Path(tmp) / "stations.yaml"
            upload.save(path)
            source = upload.filename
        else:
            path = Path(svc.config.knowledge.dir) / "stations.yaml"
            source = str(path)
        try:
            report = import_stations(registry(), svc.store, path)
        except StationsError as exc:
            return _page(errors=[line.replace(str(path), source) for line in exc.errors]), 400
        except RegistryError as exc:
            return _page(errors=[str(exc)]), 503
    staff.record_staff_event(registry(), actor(), "stations_imported",
                             f"{source}: +{len(report.added)} ~{len(report.changed)} -{len(report.removed)}")
    return _page(report=report)


@bp.get("/stations/<code>/poster.<fmt>")
def poster(code: str, fmt: str) -> Response:
    if fmt not in ("png", "pdf"):
        abort(404)
    station = registry().station(code)
    if station is None:
        abort(404)
    svc = services()
    if svc.wechat is None:
        payload, note = local_payload(code), LOCAL_NOTE
    else:
        try:
            payload, note = svc.wechat.create_station_qr(scene_for(code))[1], None
        except (WechatApiError, StoreUnavailable):
            abort(503)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / f"{code}.png"
        try:
            render_poster(svc.config.service.union_name, station["name"], code, payload, target, note=note)
        except PosterError:
            abort(503)
        if fmt == "png":
            data, mimetype = target.read_bytes(), "image/png"
        else:
            out = io.BytesIO()
            with Image.open(target) as img:
                img.save(out, format="PDF", resolution=300.0)
            data, mimetype = out.getvalue(), "application/pdf"
    stamp = dt.datetime.fromtimestamp(svc.clock(), registry().tz).strftime("%Y%m%d")
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="poster-{code}-{stamp}.{fmt}"'
    return response
