"""Member notices (送清凉, 金秋助学, a new station…), the pure part: who a notice is for, what a member
receives, what WeChat lets through, and the decisions of the sending job (quota, pace, progress).

No I/O here; :mod:`bot.notify.broadcast` is the shell that reads the registry and calls WeChat.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.notify.template import fill_fields
from bot.wechat.protocol import TEXT_LIMIT_BYTES

KIND = "member_notice"
"""The outbox kind of one recipient's copy of a member notice."""

AUDIENCES = ("station", "occupation", "all")
TITLE_MAX = 20
"""WeChat shows at most 20 characters of a template message line (rules of May 2023)."""
DEFAULT_TITLE = "会员通知"
FOOTER = "回复“退订”不再接收通知"
URL_MAX = 500


class NoticeProblem(ValueError):
    """A notice that cannot be sent as written; the message (Chinese) says what to change."""


@dataclass(frozen=True)
class Audience:
    """Whom a notice is for: the approved members of one station, of one occupation, or all."""

    kind: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.kind not in AUDIENCES:
            raise NoticeProblem(f"不认识的发送范围：{self.kind}")
        if (self.kind == "all") != (not self.value):
            raise NoticeProblem("请选择驿站或职业" if self.kind != "all" else "“全体会员”不需要再选驿站或职业")

    @classmethod
    def of(cls, station: str | None = None, occupation: str | None = None, everyone: bool = False) -> Audience:
        """From the three mutually exclusive choices of the CLI and the console form."""
        chosen = [c for c in (("station", (station or "").strip()), ("occupation", (occupation or "").strip()),
                              ("all", "all" if everyone else "")) if c[1]]
        if len(chosen) != 1:
            raise NoticeProblem("请在按驿站、按职业、全体会员中选择一种发送范围")
        kind, value = chosen[0]
        return cls(kind, "" if kind == "all" else value)

    def to_json(self, url: str = "") -> str:
        """As kept in ``broadcasts.audience``; the notice's link rides along (the table has no
        column of its own for it)."""
        data = {"kind": self.kind, "value": self.value} | ({"url": url} if url else {})
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> tuple[Audience, str]:
        """The audience and the link kept by :meth:`to_json`."""
        data = json.loads(raw or "{}")
        return cls(str(data.get("kind", "")), str(data.get("value", ""))), str(data.get("url", ""))

    def label(self, station_names: Mapping[str, str] | None = None) -> str:
        """In Chinese for staff: 全体会员, 驿站 ST001 青溪驿站, 职业 快递员."""
        if self.kind == "all":
            return "全体会员"
        if self.kind == "station":
            name = (station_names or {}).get(self.value, "")
            return f"驿站 {self.value} {name}".rstrip()
        return f"职业 {self.value}"


@dataclass(frozen=True)
class Composed:
    """A notice as members receive it: ``text`` as a customer-service message or before the next
    reply, ``fields`` for the template message."""

    title: str
    body: str
    text: str
    fields: dict[str, str]
    url: str = ""
    """A page with the whole notice (e.g. the account's article), opened from the template message."""


def clean(title: str | None, body: str | None, url: str | None = None) -> tuple[str, str, str]:
    """The title, body and link as they will be sent, or :class:`NoticeProblem` saying what is wrong."""
    title = " ".join((title or "").split()) or DEFAULT_TITLE
    body = "\n".join(line.rstrip() for line in (body or "").replace("\r\n", "\n").replace("\ufeff", "").split("\n"))
    body = body.strip()
    if body.endswith(FOOTER):  # pasted from an earlier notice: the footer is added once, below
        body = body.removesuffix(FOOTER).rstrip()
    url = (url or "").strip()
    if not body:
        raise NoticeProblem("通知内容不能为空")
    if len(title) > TITLE_MAX:
        raise NoticeProblem(f"标题最多 {TITLE_MAX} 个字（微信模板消息每行只显示 {TITLE_MAX} 个字），现在是 {len(title)} 个字")
    if url and (not url.startswith(("https://", "http://")) or len(url) > URL_MAX or any(c.isspace() for c in url)):
        raise NoticeProblem(f"详情链接要以 https:// 或 http:// 开头，不含空格，最长 {URL_MAX} 个字符")
    return title, body, url


def message_text(title: str, body: str, union_name: str, url: str = "") -> str:
    """The whole notice as one WeChat text: title, body, link, sender, how to stop notices."""
    link = f"\n详情：{url}" if url else ""
    return f"【{title}】\n{body}{link}\n\n{union_name}\n{FOOTER}"


def compose(title: str | None, body: str | None, union_name: str, when: str,
            field_pairs: Sequence[str], url: str | None = None) -> Composed:
    """Check and lay out one notice. ``when``: its local time as members read it."""
    title, body, url = clean(title, body, url)
    text = message_text(title, body, union_name, url)
    size = len(text.encode("utf-8"))
    if size > TEXT_LIMIT_BYTES:
        over = math.ceil((size - TEXT_LIMIT_BYTES) / 3)
        raise NoticeProblem(f"通知太长：微信一条消息最多 {TEXT_LIMIT_BYTES} 字节（约 {TEXT_LIMIT_BYTES // 3} 个汉字，"
                            f"含标题和结尾），现在 {size} 字节，请删掉约 {over} 个字")
    values = {"title": title, "union": union_name, "time": when, "text": f"{body}\n{FOOTER}"}
    return Composed(title, body, text, fill_fields(field_pairs, values), url)


# -- the sending job's decisions -------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Where one notice stands, from its recipients' rows."""

    delivered: int = 0
    """WeChat took it (template or customer-service message), or it was shown before a reply."""
    waiting: int = 0
    """WeChat took neither: shown before the member's next reply."""
    failed: int = 0
    skipped: int = 0
    """Replied 退订."""
    pending: int = 0
    """Not tried yet, being sent, or held for tomorrow's quota."""

    @classmethod
    def of(cls, by_status: Mapping[str, int]) -> Progress:
        get = by_status.get
        return cls(delivered=get("sent", 0) + get("shown", 0), waiting=get("waiting", 0), failed=get("failed", 0),
                   skipped=get("skipped", 0), pending=get("pending", 0) + get("sending", 0))

    @property
    def total(self) -> int:
        """Recipients to send to (those who replied 退订 not counted)."""
        return self.delivered + self.waiting + self.failed + self.pending

    @property
    def done(self) -> int:
        return self.total - self.pending

    @property
    def not_delivered(self) -> int:
        return self.waiting + self.failed


STATUS_LABELS = {"queued": "排队中", "sending": "发送中", "paused": "已暂停（等明天的额度）", "done": "已完成"}
RESULT_LABELS = {"sent": "已送达", "shown": "已在回复前显示", "waiting": "未送达，等会员下次发消息时显示",
                 "failed": "失败", "skipped": "已退订，未发送", "pending": "待发送", "sending": "发送中"}
CHANNEL_LABELS = {"template": "模板消息", "customer_service": "客服消息", "next_message": "下次消息前显示"}
ERRCODE_HINTS = {"43004": "未关注公众号", "43019": "已把公众号拉黑", "43101": "拒收消息", "45009": "今日额度已用完",
                 "45015": "超过48小时没发消息", "45047": "客服消息条数已满", "40037": "模板 id 不对"}


def reason(error: str) -> str:
    """WeChat's refusal as staff read it: each errcode followed by what it means."""
    return re.sub(r"errcode (\d+)", lambda m: f"{m.group(0)}（{ERRCODE_HINTS[m.group(1)]}）"
                  if m.group(1) in ERRCODE_HINTS else m.group(0), error)


def job_status(progress: Progress, paused: bool) -> str:
    """queued/sending/paused/done for a job that has started."""
    if progress.pending == 0:
        return "done"
    return "paused" if paused else "sending"


def quota_left(daily_quota: int, template_sends_today: int, uses_template: bool) -> int | None:
    """Template messages still allowed today; None when notices go without templates (no quota)."""
    if not uses_template:
        return None
    return max(0, daily_quota - template_sends_today)


def may_resume(paused_on: dt.date, today: dt.date) -> bool:
    """A notice paused for WeChat's daily quota goes on from the next (local) day."""
    return today > paused_on


def batch_size(send_rate: float, seconds: float, quota: int | None) -> int:
    """How many to take for a round of ``seconds`` at ``send_rate`` a second, within the quota."""
    size = max(1, int(send_rate * seconds))
    return size if quota is None else min(size, quota)


def start_of_day(instant: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """Local midnight before ``instant``, as an aware datetime (WeChat's quota day is China's)."""
    local = instant.astimezone(tz)
    return dt.datetime.combine(local.date(), dt.time(), tzinfo=tz)
