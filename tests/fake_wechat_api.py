"""A small local fake of the WeChat HTTP API, for tests (never call the real one).

Runs in a thread on 127.0.0.1 with an ephemeral port::

    with FakeWechatApi() as fake:
        config = WechatConfig(app_id=fake.app_id, app_secret=fake.app_secret, api_base=fake.base_url)

Endpoints: ``GET /cgi-bin/token``, ``POST /cgi-bin/qrcode/create``, ``POST /cgi-bin/message/custom/send``,
``POST /cgi-bin/message/template/send``, ``POST /cgi-bin/menu/create``. Like the real one, issuing a token invalidates every earlier token
(no grace period here, which makes workers that knock each other out visible at once).

Knobs: ``token_requests`` (count), ``token_delay`` (seconds the token endpoint takes, to widen
races), ``delays[path]`` (seconds an endpoint takes), ``expire_tokens(errcode)`` (every issued token
now answers 42001 / 40001), ``always_error[path] = errcode``, ``closed_window`` (openids that get 45015),
``unfollowed`` (openids that get 43004 from both message calls), ``templates_known`` (when set, other
template ids get 40037), ``template_quota`` (template messages accepted before 45009).
Recorded: ``qrcodes``, ``messages``, ``templates``, ``menus`` (the JSON bodies) and ``calls`` (path, token).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakeWechatApi:
    def __init__(self, app_id: str = "wx-test-app", app_secret: str = "test-secret", expires_in: int = 7200,
                 port: int = 0) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.expires_in = expires_in
        self.token_requests = 0
        self.token_delay = 0.0
        self.delays: dict[str, float] = {}
        self.always_error: dict[str, int] = {}
        self.closed_window: set[str] = set()
        self.unfollowed: set[str] = set()
        self.templates_known: set[str] | None = None
        self.template_quota: int | None = None
        self.templates: list[dict[str, Any]] = []
        self.qrcodes: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.menus: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str | None]] = []
        self._tokens: dict[str, int] = {}  # token -> errcode it now gets (0: valid)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-wechat", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeWechatApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes sleeping handlers
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeWechatApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def expire_tokens(self, errcode: int = 42001) -> None:
        with self._lock:
            for token in self._tokens:
                self._tokens[token] = errcode

    @property
    def current_token(self) -> str | None:
        with self._lock:
            valid = [t for t, code in self._tokens.items() if code == 0]
        return valid[-1] if valid else None

    # ------------------------------------------------------------------------------------------

    def _token(self, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self.token_requests += 1
            n = self.token_requests
        if self.token_delay:
            self._stop.wait(self.token_delay)
        if query.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if query.get("appid") != self.app_id:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if query.get("secret") != self.app_secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        token = f"TOKEN-{n}"
        with self._lock:
            for old in self._tokens:  # a new token knocks out the old ones
                self._tokens[old] = self._tokens[old] or 40001
            self._tokens[token] = 0
        return {"access_token": token, "expires_in": self.expires_in}

    def _api(self, path: str, token: str | None, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls.append((path, token))
            code = self._tokens.get(token or "", 40001)
        if path in self.always_error:
            return {"errcode": self.always_error[path], "errmsg": "forced error"}
        if code:
            msg = "access_token expired" if code == 42001 else "invalid credential, access_token is invalid or not latest"
            return {"errcode": code, "errmsg": msg}
        if path == "/cgi-bin/qrcode/create":
            self.qrcodes.append(body)
            scene = body.get("action_info", {}).get("scene", {})
            if body.get("action_name") != "QR_LIMIT_STR_SCENE" or not 1 <= len(scene.get("scene_str", "")) <= 64:
                return {"errcode": 40053, "errmsg": "invalid action info"}
            n = len(self.qrcodes)
            return {"ticket": f"gQTICKET{n}", "url": f"http://weixin.qq.com/q/fake{n}-{scene['scene_str']}"}
        if body.get("touser") in self.unfollowed and path.startswith("/cgi-bin/message/"):
            return {"errcode": 43004, "errmsg": "require subscribe"}
        if path == "/cgi-bin/message/template/send":
            with self._lock:
                if self.templates_known is not None and body.get("template_id") not in self.templates_known:
                    return {"errcode": 40037, "errmsg": "invalid template_id"}
                if self.template_quota is not None and len(self.templates) >= self.template_quota:
                    return {"errcode": 45009, "errmsg": "reach max api daily quota limit"}
                self.templates.append(body)
                return {"errcode": 0, "errmsg": "ok", "msgid": 1000 + len(self.templates)}
        if path == "/cgi-bin/message/custom/send":
            if body.get("touser") in self.closed_window:
                return {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}
            self.messages.append(body)
            return {"errcode": 0, "errmsg": "ok"}
        if path == "/cgi-bin/menu/create":
            self.menus.append(body)
            return {"errcode": 0, "errmsg": "ok"}
        return {"errcode": 404, "errmsg": f"no such fake endpoint {path}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, result: dict[str, Any]) -> None:
                data = json.dumps(result, ensure_ascii=False).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                    pass

            def _route(self, body: dict[str, Any]) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                delay = fake.delays.get(url.path)
                if delay:
                    fake._stop.wait(delay)
                if url.path == "/cgi-bin/token":
                    self._answer(fake._token(query))
                else:
                    self._answer(fake._api(url.path, query.get("access_token"), body))

            def do_GET(self) -> None:
                self._route({})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw.decode("utf-8")) if raw else {}
                except ValueError:
                    self._answer({"errcode": 47001, "errmsg": "data format error"})
                    return
                self._route(body)

        return Handler


def main() -> None:
    """Run the stand-in by hand: ``python tests/fake_wechat_api.py --port 9100`` and point
    ``[wechat] api_base`` at it; every message the bot sends is printed as one JSON line."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--app-id", default="wx-test-app")
    parser.add_argument("--app-secret", default="test-secret")
    args = parser.parse_args()
    with FakeWechatApi(args.app_id, args.app_secret, port=args.port) as fake:
        print(f"fake WeChat API on {fake.base_url} (app_id {fake.app_id}, secret {fake.app_secret})", flush=True)
        shown = {"templates": 0, "messages": 0}
        while True:
            for name, count in shown.items():
                sent = getattr(fake, name)
                for body in sent[count:]:
                    print(name, json.dumps(body, ensure_ascii=False), flush=True)
                shown[name] = len(sent)
            time.sleep(0.2)


if __name__ == "__main__":
    main()
