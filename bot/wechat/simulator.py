"""A stand-in for WeChat's servers: builds, signs and encrypts messages the way WeChat does.

Used by ``unionbot chat`` (try the bot without a WeChat account), the black-box tests and the
benchmarks, so all three speak exactly the protocol production sees.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from defusedxml.ElementTree import fromstring
from wechatpy.crypto import WeChatCrypto

from bot.config import WechatConfig

Transport = Callable[[str, str, bytes], tuple[int, bytes]]
"""(method, path with query, body) -> (status, body)."""

ACCOUNT = "gh_unionbot"


def http_transport(base_url: str, timeout: float = 10.0) -> Transport:
    import requests

    session = requests.Session()

    def send(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        response = session.request(method, base_url.rstrip("/") + path, data=body or None, timeout=timeout,
                                   headers={"Content-Type": "text/xml"})
        return response.status_code, response.content

    return send


def flask_transport(app: object) -> Transport:
    client = app.test_client()  # type: ignore[attr-defined]

    def send(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        response = client.open(path, method=method, data=body, content_type="text/xml")
        return response.status_code, response.data

    return send


@dataclass
class Reply:
    status: int
    body: bytes
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.fields.get("Content", "")

    @property
    def msg_type(self) -> str:
        return self.fields.get("MsgType", "")


def _sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _element(name: str, value: str | int | float) -> str:
    if isinstance(value, str):
        return f"<{name}><![CDATA[{value}]]></{name}>"
    return f"<{name}>{value}</{name}>"


class Simulator:
    """Sends messages as WeChat would, for one official account configured by ``config``."""

    def __init__(self, config: WechatConfig, transport: Transport, clock: Callable[[], float] = time.time,
                 encrypt: bool | None = None) -> None:
        self.config = config
        self.transport = transport
        self.clock = clock
        self.encrypt = config.mode == "safe" if encrypt is None else encrypt
        self._ids = itertools.count(secrets.randbits(48))

    # -- message builders (the XML WeChat posts) ------------------------------------------------

    def xml(self, user: str, msg_type: str, *, msg_id: int | None = None, create_time: int | None = None,
            **fields: str | int | float) -> str:
        parts = [
            _element("ToUserName", ACCOUNT), _element("FromUserName", user),
            _element("CreateTime", create_time if create_time is not None else int(self.clock())),
            _element("MsgType", msg_type),
        ]
        parts += [_element(name, value) for name, value in fields.items()]
        if msg_type != "event":
            parts.append(_element("MsgId", msg_id if msg_id is not None else next(self._ids)))
        return "<xml>" + "".join(parts) + "</xml>"

    def text(self, user: str, content: str, **kw: int) -> str:
        return self.xml(user, "text", Content=content, **kw)

    def voice(self, user: str, recognition: str | None = None, **kw: int) -> str:
        fields: dict[str, str] = {"MediaId": "media_voice_1", "Format": "amr"}
        if recognition is not None:
            fields["Recognition"] = recognition
        return self.xml(user, "voice", **fields, **kw)

    def image(self, user: str, **kw: int) -> str:
        return self.xml(user, "image", PicUrl="http://mmbiz.qpic.cn/x.jpg", MediaId="media_image_1", **kw)

    def video(self, user: str, short: bool = False, **kw: int) -> str:
        return self.xml(user, "shortvideo" if short else "video", MediaId="media_video_1", ThumbMediaId="thumb_1", **kw)

    def location(self, user: str, latitude: float, longitude: float, label: str = "", **kw: int) -> str:
        return self.xml(user, "location", Location_X=latitude, Location_Y=longitude, Scale=15, Label=label, **kw)

    def link(self, user: str, title: str = "链接", url: str = "http://example.com/", **kw: int) -> str:
        return self.xml(user, "link", Title=title, Description="", Url=url, **kw)

    def event(self, user: str, event: str, **fields: str | int | float) -> str:
        return self.xml(user, "event", Event=event, **fields)

    def subscribe(self, user: str, scene: str | None = None, **kw: int) -> str:
        if scene is None:
            return self.event(user, "subscribe", **kw)
        return self.event(user, "subscribe", EventKey=f"qrscene_{scene}", Ticket="ticket_" + scene, **kw)

    def scan(self, user: str, scene: str, **kw: int) -> str:
        return self.event(user, "SCAN", EventKey=scene, Ticket="ticket_" + scene, **kw)

    # -- transport --------------------------------------------------------------------------------

    def query(self, body: str = "", encrypt: bool | None = None, timestamp: int | None = None) -> tuple[dict, str]:
        """Signed query parameters and the (maybe encrypted) body, as WeChat sends them."""
        timestamp = timestamp if timestamp is not None else int(self.clock())
        nonce = secrets.token_hex(5)
        params = {"timestamp": str(timestamp), "nonce": nonce,
                  "signature": _sign(self.config.token, str(timestamp), nonce), "openid": "o"}
        encrypt = self.encrypt if encrypt is None else encrypt
        if encrypt and body:
            crypto = WeChatCrypto(self.config.token, self.config.encoding_aes_key, self.config.app_id)
            envelope = crypto.encrypt_message(body, nonce, str(timestamp))
            root = fromstring(envelope)
            encrypted = root.findtext("Encrypt") or ""
            params["encrypt_type"] = "aes"
            params["msg_signature"] = _sign(self.config.token, str(timestamp), nonce, encrypted)
            body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        return params, body

    def post(self, body: str | bytes, params: dict | None = None) -> Reply:
        """POST one message (signing it unless ``params`` are given) and read the reply."""
        if params is None:
            params, body = self.query(body if isinstance(body, str) else body.decode("utf-8"))
        raw = body.encode("utf-8") if isinstance(body, str) else body
        status, reply = self.transport("POST", "/wechat?" + urlencode(params), raw)
        return Reply(status, reply, self.read_reply(reply) if status == 200 else {})

    def verify(self, echostr: str = "echo123") -> Reply:
        params, _ = self.query()
        params["echostr"] = echostr
        params.pop("openid")
        status, body = self.transport("GET", "/wechat?" + urlencode(params), b"")
        return Reply(status, body)

    def read_reply(self, body: bytes) -> dict[str, str]:
        """The reply's fields, decrypted when it came encrypted (``success`` gives ``{}``)."""
        if not body or body == b"success":
            return {}
        root = fromstring(body, forbid_dtd=True)
        encrypted = root.findtext("Encrypt")
        if encrypted:
            signature = root.findtext("MsgSignature") or ""
            timestamp = root.findtext("TimeStamp") or ""
            nonce = root.findtext("Nonce") or ""
            crypto = WeChatCrypto(self.config.token, self.config.encoding_aes_key, self.config.app_id)
            plain = crypto.decrypt_message({"Encrypt": encrypted}, signature, timestamp, nonce)
            root = fromstring(plain, forbid_dtd=True)
        return {child.tag: child.text or "" for child in root}

