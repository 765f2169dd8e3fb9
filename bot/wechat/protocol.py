"""The WeChat message protocol: signatures, freshness, AES, parsing and rendering.

Everything here is a pure function of its inputs (time is passed in). Errors are raised as
:class:`ProtocolError` carrying the HTTP status to answer with, so that hostile or broken
input never becomes a 500 (which WeChat would retry and then show the worker
"该公众号暂时无法提供服务").
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException

from bot.config import WechatConfig
from bot.core.conversation import Incoming

TEXT_LIMIT_BYTES = 2048
"""WeChat truncates or rejects passive text replies beyond this many UTF-8 bytes."""


class ProtocolError(Exception):
    """A request we refuse; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Query:
    """The query-string parameters WeChat signs every request with."""

    signature: str = ""
    timestamp: str = ""
    nonce: str = ""
    echostr: str = ""
    encrypt_type: str = ""
    msg_signature: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Query:
        """From the request's query string (Flask's ``request.args``)."""
        return cls(**{name: args.get(name) or "" for name in cls.__dataclass_fields__})


def _crypto(config: WechatConfig) -> WeChatCrypto:
    return WeChatCrypto(config.token, config.encoding_aes_key, config.app_id)


def sign(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the sorted, concatenated parts."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _matches(expected: str, given: str) -> bool:
    """Constant-time comparison, so response timing does not reveal how much of a signature is right."""
    return hmac.compare_digest(expected.encode("utf-8"), given.lower().encode("utf-8", "replace"))


def check_request(config: WechatConfig, query: Query, now: float) -> None:
    """Signature and freshness of any request (GET verification or POST message)."""
    if not (query.signature and query.timestamp and query.nonce):
        raise ProtocolError(403, "missing signature parameters")
    if not _matches(sign(config.token, query.timestamp, query.nonce), query.signature):
        raise ProtocolError(403, "bad signature")
    try:
        timestamp = int(query.timestamp)
    except ValueError:
        raise ProtocolError(403, "timestamp is not a number") from None
    if abs(now - timestamp) > config.timestamp_window:
        raise ProtocolError(403, "timestamp outside the allowed window")


def is_encrypted(config: WechatConfig, query: Query) -> bool:
    """Safe mode always encrypts; compatible mode encrypts when WeChat says ``encrypt_type=aes``."""
    return config.mode == "safe" or (config.mode == "compatible" and query.encrypt_type == "aes")


def _parse_xml(body: bytes | str) -> Element:
    """Parse untrusted XML: no DTDs, no entities, no external references."""
    try:
        root = safe_fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ProtocolError(400, f"forbidden XML construct: {type(exc).__name__}") from None
    except (SyntaxError, ValueError) as exc:  # ParseError is a SyntaxError
        raise ProtocolError(400, f"malformed XML: {exc}") from None
    if root.tag != "xml":
        raise ProtocolError(400, "root element is not <xml>")
    return root


def open_message(config: WechatConfig, query: Query, body: bytes, now: float) -> str:
    """Verify and (in safe mode) decrypt a POST body; return the plain message XML."""
    check_request(config, query, now)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(400, "body is not UTF-8") from None
    if not is_encrypted(config, query):
        return text
    envelope = _parse_xml(text)
    encrypt = envelope.findtext("Encrypt")
    if not encrypt:
        raise ProtocolError(400, "no <Encrypt> in an encrypted message")
    if not query.msg_signature:
        raise ProtocolError(403, "missing msg_signature")
    expected = sign(config.token, query.timestamp, query.nonce, encrypt)
    if not _matches(expected, query.msg_signature):
        raise ProtocolError(403, "bad msg_signature")
    try:  # wechatpy checks the signature again (with ``!=``); it is the one we computed, so it matches
        plain = _crypto(config).decrypt_message({"Encrypt": encrypt}, expected, query.timestamp, query.nonce)
    except InvalidAppIdException:
        raise ProtocolError(403, "message encrypted for another app id") from None
    except Exception as exc:  # corrupt base64, padding, length: all mean a broken body
        raise ProtocolError(400, f"cannot decrypt <Encrypt>: {type(exc).__name__}") from None
    return plain


_EVENT_ALIASES = {"subscribe_scan": "subscribe"}


def parse(xml: str) -> Incoming:
    """Turn plain message XML into an :class:`Incoming`, read through wechatpy's typed classes.

    The hardened parse runs first, so wechatpy's own parser never sees a DTD or an entity.
    """
    root = _parse_xml(xml)
    for required in ("FromUserName", "MsgType"):
        if not (root.findtext(required) or "").strip():
            raise ProtocolError(400, f"message has no {required}")
    try:
        message = parse_message(xml)
        common = {"user": _str(message.source).strip(), "msg_id": _str(message.id) if message.id else "",
                  "create_time": _int(message.time), "account": _str(message.target)}
        kind = message.type
        if kind == "text":
            return Incoming(kind="text", text=_str(message.content), **common)
        if kind == "voice":
            return Incoming(kind="voice", text=_str(message.recognition).strip(), **common)
        if kind == "location":
            return Incoming(kind="location", latitude=_float(message.location_x, 90.0),
                            longitude=_float(message.location_y, 180.0), label=_str(message.label), **common)
        if kind == "event":
            event = _EVENT_ALIASES.get(message.event, message.event)
            key = _str(getattr(message, "scene_id", None) or getattr(message, "key", None))
            if event == "location":
                return Incoming(kind="event", event=event, latitude=_float(message.latitude, 90.0),
                                longitude=_float(message.longitude, 180.0), **common)
            return Incoming(kind="event", event=event, event_key=key.removeprefix("qrscene_"), **common)
        if kind in ("image", "video", "shortvideo", "link"):
            return Incoming(kind=kind, text=_str(getattr(message, "title", None)), **common)
        return Incoming(kind="unknown", **common)
    except (AttributeError, TypeError, ValueError, KeyError) as exc:  # odd but well-formed shapes
        raise ProtocolError(400, f"unreadable message: {type(exc).__name__}") from None


def dedup_key(message: Incoming) -> str:
    """WeChat resends a late reply's message: same sender and MsgId, or for events same sender +
    CreateTime. The sender is part of the key so that another openid sending the same MsgId never
    gets this worker's remembered reply."""
    if message.msg_id:
        return f"msg:{message.user}:{message.msg_id}"
    return f"ev:{message.user}:{message.create_time}:{message.event}"


def request_key(query: Query) -> str:
    """What identifies one signed request for the replay check: its signature, timestamp and nonce."""
    return hashlib.sha256(f"{query.signature}:{query.timestamp}:{query.nonce}".encode()).hexdigest()


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _cdata(text: str) -> str:
    """Text safe inside CDATA: no control characters XML 1.0 forbids, ``]]>`` split across sections."""
    return "<![CDATA[" + _CONTROL.sub("", text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_text(to_user: str, from_user: str, text: str, now: int) -> str:
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName><FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(text)}</Content></xml>"
    )


def render_transfer(to_user: str, from_user: str, now: int) -> str:
    """Hand the conversation to WeChat's customer-service system (a person picks it up)."""
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName><FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>"
    )


def seal(config: WechatConfig, query: Query, reply_xml: str, nonce: str, now: int) -> str:
    """Encrypt the reply when the request came encrypted."""
    if not is_encrypted(config, query):
        return reply_xml
    return _crypto(config).encrypt_message(reply_xml, nonce, str(now))


def _str(value: object) -> str:
    """A field's text; a repeated element (which xmltodict turns into a list) is malformed."""
    if value is None:
        return ""
    if isinstance(value, (str, int)):
        return str(value)
    raise ValueError("repeated or nested element")


def _int(value: object) -> int:
    try:
        return int(str(value or "0").strip())
    except ValueError:
        return 0


def _float(value: object, limit: float) -> float | None:
    """A coordinate, or None when it is missing, not a number, not finite (inf, nan) or beyond
    ±``limit``: handlers then ask for the location again instead of measuring from nowhere."""
    try:
        number = float(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) and abs(number) <= limit else None
