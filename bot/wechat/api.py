"""Outgoing WeChat API calls: one access token for every worker, QR tickets, customer-service and
template messages.

WeChat issues one access token per app; fetching a new one invalidates the old one after a short
grace period, so several workers each refreshing "their" token knock each other out (a long-standing
complaint in wechatpy's and WeRoBot's trackers). Here the token lives in the shared :class:`Store`
(``value:wechat_access_token``, with a TTL a little shorter than WeChat's ``expires_in``) and is
refreshed only under a Store lock, re-reading the cache inside the lock: however many workers on
however many hosts find the cache empty at once, exactly one token request goes out.

On a token error (40001 invalid credential, 40014 invalid token, 42001 expired) the token that
failed is replaced -- unless another worker already replaced it -- and the call is retried once.

The calls themselves go through wechatpy's :class:`~wechatpy.WeChatClient` (its ``qrcode``,
``message``, ``menu`` … APIs), pointed at ``wechat.api_base`` and with ``wechat.api_timeout`` on
every request. wechatpy's own token handling is bypassed: its ``fetch_access_token`` is not
lock-aware, ignores ``api_base`` and has no timeout, and its auto-retry loops for as long as the
token error repeats. Anything that goes wrong surfaces as :class:`WechatApiError`.

Template messages (:meth:`WechatApi.send_template`) have no such window, only a daily quota.

The 48-hour customer-service window: WeChat only accepts a customer-service message within 48 h of
the user's last message to the account. The webhook calls :func:`record_interaction` for every
message, and a late reply to an event checks :func:`within_service_window` before trying. Notices
(:mod:`bot.notify.outbox`) do not: a CLI or another host does not see this record, and WeChat knows
better; :meth:`WechatApi.send_text` answers ``False`` (not an exception) when WeChat says the window
is closed (45015) or the per-window quota is used up (45047).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from bot.config import WechatConfig
from bot.redact import redact
from bot.storage.store import LockTimeout, Store

log = logging.getLogger(__name__)

TOKEN_KEY = "wechat_access_token"
TOKEN_LOCK = "wechat_access_token"
TOKEN_MARGIN = 300
"""Seconds before WeChat's expiry at which the cached token is dropped and fetched anew."""

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
"""invalid credential / invalid access_token / access_token expired: refresh once and retry."""

OUT_OF_WINDOW = frozenset({45015, 45047})
"""45015 response out of time limit (48 h window closed); 45047 out of response count limit."""

NOT_FOLLOWING = frozenset({43004, 43019, 43101})
"""43004 the user does not follow the account; 43019 the user blocked it; 43101 the user refused."""

OUT_OF_QUOTA = frozenset({45009})
"""45009 the account's daily quota for this API is used up."""

SERVICE_WINDOW = 48 * 3600
WINDOW_SAFETY = 60
"""We record the interaction when the webhook sees it, a little after the user sent it."""

SCENE_MAX = 64
QR_KEY = "wechat_qr:"
"""Store key prefix of a scene's permanent QR code (ticket, url), kept without expiry."""


class WechatApiError(RuntimeError):
    """A WeChat API call failed. ``errcode`` is WeChat's code, or ``None`` when no usable answer came
    back at all (timeout, connection refused, HTTP error, not JSON).

    The text is redacted here, the one door every failure goes through: a requests exception names
    the URL it failed on, and that carries ``secret=…`` or ``access_token=…``.
    """

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        errmsg = redact(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeChat API error {errcode}: {errmsg}" if errcode is not None else f"WeChat API: {errmsg}")


class StoreSession(SessionStorage):
    """wechatpy's session storage on our Store, so whatever wechatpy caches (e.g. a JS-SDK ticket)
    is shared by every worker too. The access token does not go through here."""

    def __init__(self, store: Store, namespace: str = "wechatpy") -> None:
        self.store = store
        self.namespace = namespace

    def _name(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    def get(self, key: str, default: Any = None) -> Any:
        value = self.store.get_value(self._name(key))
        return default if value is None else value

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        if value is None:
            return
        self.store.set_value(self._name(key), str(value), ttl=int(ttl) if ttl else None)

    def delete(self, key: str) -> None:
        self.store.delete_value(self._name(key))


class _Client(WeChatClient):
    """WeChatClient whose token comes from :class:`WechatApi` (pinned per call and thread)."""

    def __init__(self, api: WechatApi) -> None:
        cfg = api.config
        super().__init__(cfg.app_id, cfg.app_secret, session=StoreSession(api.store),
                         timeout=cfg.api_timeout, auto_retry=False)
        self._api = api
        self.API_BASE_URL = api.base_url + "/cgi-bin/"

    @property
    def access_token(self) -> str:  # type: ignore[override]
        pinned = getattr(self._api._local, "token", None)
        return pinned or self._api.access_token()

    def fetch_access_token(self) -> dict[str, Any]:  # pragma: no cover - auto_retry is off
        token = self._api.refresh_token()
        return {"access_token": token}


class WechatApi:
    """The outgoing API for one app, sharing its access token through ``store``.

    Safe to share between threads; every worker process makes its own.
    """

    def __init__(self, config: WechatConfig, store: Store, token_margin: int = TOKEN_MARGIN) -> None:
        if not config.app_id or not config.app_secret:
            raise WechatApiError(None, "wechat.app_id and wechat.app_secret are not configured")
        self.config = config
        self.store = store
        self.token_margin = token_margin
        self.base_url = config.api_base.rstrip("/")
        self._local = threading.local()
        self.client = _Client(self)

    @classmethod
    def if_configured(cls, config: WechatConfig, store: Store) -> WechatApi | None:
        """The API client, or None without AppID and AppSecret (the simulator and tests)."""
        return cls(config, store) if config.app_id and config.app_secret else None

    # -- access token --------------------------------------------------------------------------

    def access_token(self) -> str:
        """The shared token, fetched (by exactly one worker) when none is cached."""
        token = self.store.get_value(TOKEN_KEY)
        return token or self.refresh_token()

    def refresh_token(self, stale: str | None = None) -> str:
        """Fetch a new token under the shared lock, unless the cache already holds one that is not
        ``stale`` (another worker refreshed while we waited): then that one is returned."""
        wait = 2 * self.config.api_timeout + 2
        try:
            with self.store.lock(TOKEN_LOCK, timeout=wait + 5, wait=wait):
                cached = self.store.get_value(TOKEN_KEY)
                if cached and cached != stale:
                    return cached
                token, expires_in = self._fetch_token()
                ttl = max(60, expires_in - self.token_margin) if expires_in > 120 else max(1, expires_in // 2)
                self.store.set_value(TOKEN_KEY, token, ttl=ttl)
                return token
        except LockTimeout:
            cached = self.store.get_value(TOKEN_KEY)
            if cached and cached != stale:
                return cached
            raise WechatApiError(None, f"timed out after {wait:g}s waiting for another worker's token refresh") from None

    def invalidate_token(self, token: str | None = None) -> None:
        """Drop the cached token (only if it is still ``token``, when given)."""
        if token is None or self.store.get_value(TOKEN_KEY) == token:
            self.store.delete_value(TOKEN_KEY)

    def _fetch_token(self) -> tuple[str, int]:
        log.info("fetching a new WeChat access token")
        url = self.base_url + "/cgi-bin/token"
        params = {"grant_type": "client_credential", "appid": self.config.app_id, "secret": self.config.app_secret}
        try:
            res = self.client._http.get(url, params=params, timeout=self.config.api_timeout)
        except requests.Timeout:
            raise WechatApiError(None, f"token request timed out after {self.config.api_timeout:g}s") from None
        except requests.RequestException as exc:
            raise WechatApiError(None, f"token request failed: {exc.__class__.__name__}: {exc}") from None
        result = _json(res)
        if result.get("errcode"):
            raise WechatApiError(int(result["errcode"]), str(result.get("errmsg", "")))
        token = result.get("access_token")
        if not token:
            raise WechatApiError(None, "token response has no access_token")
        return str(token), int(result.get("expires_in", 7200))

    # -- calling -------------------------------------------------------------------------------

    def call(self, fn: Callable[[WeChatClient], Any]) -> Any:
        """Run ``fn(client)`` (a wechatpy call) with the shared token; on a token error refresh once
        and retry once. Raises :class:`WechatApiError` for every failure."""
        token = self.access_token()
        try:
            return self._invoke(fn, token)
        except WechatApiError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("WeChat rejected the access token (%s); refreshing once", exc.errcode)
        token = self.refresh_token(stale=token)
        return self._invoke(fn, token)

    def _invoke(self, fn: Callable[[WeChatClient], Any], token: str) -> Any:
        self._local.token = token
        try:
            result = fn(self.client)
        except WeChatClientException as exc:
            if exc.errcode is not None:
                raise WechatApiError(int(exc.errcode), str(exc.errmsg)) from None
            status = getattr(exc.response, "status_code", "?")
            raise WechatApiError(None, f"HTTP {status} from {self.base_url}") from None
        except requests.Timeout:
            raise WechatApiError(None, f"request timed out after {self.config.api_timeout:g}s") from None
        except requests.RequestException as exc:
            raise WechatApiError(None, f"request failed: {exc.__class__.__name__}: {exc}") from None
        finally:
            self._local.token = None
        if isinstance(result, requests.Response):  # wechatpy hands back what it could not decode
            raise WechatApiError(None, f"answer is not JSON (HTTP {result.status_code})")
        return result

    # -- the calls we make -----------------------------------------------------------------------

    def create_station_qr(self, scene: str) -> tuple[str, str]:
        """A permanent parametric QR code (``QR_LIMIT_STR_SCENE``) for ``scene``: (ticket, url).

        ``url`` is what the QR image should encode; ``ticket`` also fetches WeChat's own image.
        A permanent code never expires and an account may create at most 100,000, so the answer is
        kept in the store and a later poster run for the same station reuses it.
        """
        if not 1 <= len(scene) <= SCENE_MAX:
            raise ValueError(f"scene string must be 1-{SCENE_MAX} characters, got {len(scene)}: {scene!r}")
        kept = self.store.get_value(QR_KEY + scene)
        if kept:
            ticket, url = json.loads(kept)
            return str(ticket), str(url)
        result = self.call(lambda c: c.qrcode.create({
            "action_name": "QR_LIMIT_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene}},
        }))
        ticket, url = result.get("ticket"), result.get("url")
        if not ticket or not url:
            raise WechatApiError(None, f"qrcode/create answered without ticket/url: {result!r}")
        self.store.set_value(QR_KEY + scene, json.dumps([str(ticket), str(url)]))
        return str(ticket), str(url)

    def send_text(self, openid: str, text: str) -> bool:
        """A customer-service text message. ``False`` when WeChat refuses because the 48 h window is
        closed or its quota is used up; other failures raise :class:`WechatApiError`."""
        try:
            self.call(lambda c: c.message.send_text(openid, text))
        except WechatApiError as exc:
            if exc.errcode in OUT_OF_WINDOW:
                log.info("customer-service message not sent (errcode %s: %s)", exc.errcode, exc.errmsg)
                return False
            raise
        return True

    def send_template(self, openid: str, template_id: str, fields: dict[str, str], url: str = "",
                      client_msg_id: str = "") -> str:
        """A template message, which WeChat accepts outside the 48 h window; answers its msgid.

        ``client_msg_id`` lets WeChat drop a repeat of the same message. Every refusal raises
        :class:`WechatApiError`; its ``errcode`` tells a closed door (:data:`NOT_FOLLOWING`), a used-up
        quota (:data:`OUT_OF_QUOTA`) or a template problem (40037 and the like) apart.
        """
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id,
                                   "data": {key: {"value": value} for key, value in fields.items()}}
        if url:
            payload["url"] = url
        if client_msg_id:
            payload["client_msg_id"] = client_msg_id[:64]
        result = self.call(lambda c: c.post("message/template/send", data=payload))
        return str(result.get("msgid", ""))

    def create_menu(self, menu: dict[str, Any]) -> None:
        """Replace the account's custom menu (``{"button": [...]}``)."""
        self.call(lambda c: c.menu.create(menu))


def _json(res: requests.Response) -> dict[str, Any]:
    if res.status_code >= 400:
        raise WechatApiError(None, f"HTTP {res.status_code} from {res.url.split('?')[0]}")
    try:
        result = res.json()
    except ValueError:
        raise WechatApiError(None, f"answer is not JSON (HTTP {res.status_code})") from None
    if not isinstance(result, dict):
        raise WechatApiError(None, "answer is not a JSON object")
    return result


# -- the 48-hour customer-service window ------------------------------------------------------------

def _seconds(now: float | datetime | None) -> float:
    if now is None:
        return time.time()
    return now.timestamp() if isinstance(now, datetime) else float(now)


def record_interaction(store: Store, openid: str, now: float | datetime | None = None) -> None:
    """Note that ``openid`` just sent the account something (opens the 48 h window)."""
    store.set_value(f"last_interaction:{openid}", repr(_seconds(now)), ttl=SERVICE_WINDOW + 3600)


def within_service_window(store: Store, openid: str, now: float | datetime | None = None) -> bool:
    """True while WeChat still accepts customer-service messages to ``openid``."""
    raw = store.get_value(f"last_interaction:{openid}")
    if raw is None:
        return False
    try:
        last = float(raw)
    except ValueError:
        return False
    return _seconds(now) - last < SERVICE_WINDOW - WINDOW_SAFETY
