"""Sending what the outbox holds: a template message first (it arrives at any time), else a
customer-service message (only within 48 h of the person's last message), else the notice waits
to be shown before their next reply.

Which channel comes next is decided by :func:`next_step`, a pure function of what WeChat answered;
:class:`Outbox` is the thin shell that claims a notice, calls WeChat and records the result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.registry import notices
from bot.registry.notices import Draft, NoticeRow
from bot.registry.repository import Registry
from bot.wechat.api import NOT_FOLLOWING, OUT_OF_QUOTA, WechatApi, WechatApiError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
"""Tries on a WeChat that does not answer (timeouts, network) before a notice waits for the next message."""


@dataclass(frozen=True)
class Result:
    """What became of one try: ``status`` is sent, waiting or pending (try again later)."""

    status: str
    channel: str = ""
    msgid: str = ""
    error: str = ""
    out_of_quota: bool = False
    """WeChat's daily template quota is used up and the notice was held back for it."""

    @property
    def detail(self) -> str:
        """The audit-trail line, in Chinese for staff."""
        if self.status == "sent":
            how = "模板消息" if self.channel == "template" else "客服消息"
            return f"已通过{how}送达" + (f"（msgid {self.msgid}）" if self.msgid else "")
        if self.status == "waiting":
            return f"微信未能送达（{self.error}），工人下次发消息时会先看到"
        return f"发送失败，稍后重试（{self.error}）"


def _describe(exc: WechatApiError) -> str:
    return f"errcode {exc.errcode}" if exc.errcode is not None else str(exc.errmsg)[:200]


class QuotaUsedUp(RuntimeError):
    """WeChat's daily template quota is used up (45009): held notices wait for the next day."""


def attempt(api: WechatApi | None, notice: NoticeRow, attempts_before: int = 0,
            hold_on_quota: bool = False) -> Result:
    """Try the channels in order for one notice. Never raises for a WeChat refusal.

    ``hold_on_quota``: on a used-up template quota keep the notice pending instead of falling back
    (a member notice rather waits for tomorrow's quota than goes out by whichever channel is open)."""
    if api is None:
        return Result("waiting", error="未配置公众号接口")
    errors: list[str] = []
    transient = False
    if notice.template:
        try:
            msgid = api.send_template(notice.openid, notice.template, notice.fields, notice.url,
                                      client_msg_id=notice.key)
            return Result("sent", "template", msgid)
        except WechatApiError as exc:
            errors.append(f"模板消息 {_describe(exc)}")
            if hold_on_quota and exc.errcode in OUT_OF_QUOTA:
                return Result("pending", error=errors[0], out_of_quota=True)
            if exc.errcode in NOT_FOLLOWING:  # a customer-service message will not get through either
                return Result("waiting", error="；".join(errors))
            transient = exc.errcode is None
    try:
        if api.send_text(notice.openid, notice.text):
            return Result("sent", "customer_service", error="；".join(errors))
        errors.append("客服消息超出48小时窗口")
    except WechatApiError as exc:
        errors.append(f"客服消息 {_describe(exc)}")
        transient = transient or exc.errcode is None
    if transient and attempts_before + 1 < MAX_ATTEMPTS:
        return Result("pending", error="；".join(errors))
    return Result("waiting", error="；".join(errors))


class Outbox:
    """Writes notices and sends them; shared by the webhook, the console, the CLI and the ticker."""

    def __init__(self, registry: Registry, wechat: WechatApi | None,
                 on_waiting: Callable[[str], None] | None = None) -> None:
        self.registry = registry
        self.wechat = wechat
        self.on_waiting = on_waiting
        """Told the openid whenever a notice starts waiting for that person's next message."""

    def send(self, draft: Draft) -> NoticeRow:
        """Write the notice (once per key) and try to send it now; a repeat returns the first (and
        tries it now if it is still due: its sender died before trying, or WeChat did not answer)."""
        row, created = notices.enqueue(self.registry, draft)
        if not created and row.status != "pending":
            return row
        return self.deliver(row.id) or notices.get(self.registry, row.id)

    def deliver(self, notice_id: int, hold_on_quota: bool = False) -> NoticeRow | None:
        """Claim and try one notice; None when another process has it or it is done.

        With ``hold_on_quota`` a used-up template quota leaves the notice pending and raises
        :class:`QuotaUsedUp`."""
        notice = notices.claim(self.registry, notice_id)
        if notice is None:
            return None
        try:
            result = attempt(self.wechat, notice, notice.attempts, hold_on_quota)
        except Exception as exc:  # not WeChat's answer (e.g. the store holding the token is down): later
            log.exception("notice %s: sending failed", notice.key)
            status = "pending" if notice.attempts + 1 < MAX_ATTEMPTS else "waiting"
            result = Result(status, error=f"{type(exc).__name__}")
        if result.status != "sent":
            log.info("notice %s to %s not sent: %s", notice.key, notice.openid, result.error)
        row = notices.finish(self.registry, notice.id, result.status, result.channel, result.msgid,
                             result.error, detail=result.detail)
        if result.out_of_quota:
            raise QuotaUsedUp(result.error)
        if row.status == "waiting" and self.on_waiting is not None:
            self.on_waiting(row.openid)
        return row

    def deliver_due(self, limit: int = 100, kinds: Iterable[str] | None = None,
                    exclude_kinds: Iterable[str] = ()) -> int:
        """Try every notice that is due (new, or back for a retry); answers how many were sent."""
        sent = 0
        for notice_id in notices.due(self.registry, limit, kinds, exclude_kinds):
            row = self.deliver(notice_id)
            sent += row is not None and row.status == "sent"
        return sent
