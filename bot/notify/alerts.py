"""Staff alerts without I/O: what each alert says, and whether new applications are told of now,
batched into a digest, or not yet.

An alert has one wording in two forms: the customer-service text (:attr:`Alert.text`) and the
template fields (``[notify] staff_template`` with ``staff_fields``, placeholders ``title``,
``subject``, ``time``, ``detail``). No alert carries a phone or ID number: names are masked and the
worker's own words are passed through :func:`~bot.signup.privacy.mask_numbers`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.duty import DutyStatus
from bot.notify.template import fill_fields
from bot.registry.alerts import Application, Backlog
from bot.registry.notices import Draft
from bot.signup.privacy import mask_numbers, mask_openid

LISTED = 3
"""Applications named in an alert about several; the rest are counted."""


@dataclass(frozen=True)
class Alert:
    kind: str
    """The notices' kind: staff_applications, staff_human or staff_summary."""
    title: str
    subject: str
    time: str
    detail: str
    url: str = ""

    @property
    def text(self) -> str:
        """The customer-service (and shown-on-next-message) form."""
        lines = [f"【{self.title}】", self.subject, f"时间：{self.time}", self.detail]
        if self.url:
            lines.append(self.url)
        return "\n".join(line for line in lines if line)

    def fields(self, pairs: Iterable[str]) -> dict[str, str]:
        """The template's fields from ``field={placeholder}`` pairs (an unknown placeholder stays as written)."""
        values = {"title": self.title, "subject": self.subject, "time": self.time, "detail": self.detail}
        return fill_fields(pairs, values)

    def drafts(self, key: str, recipients: Iterable[str], template: str, pairs: Iterable[str]) -> list[Draft]:
        """One notice per recipient, keyed ``key:openid`` (written once however often asked)."""
        fields = self.fields(pairs) if template else {}
        return [Draft(key=f"{key}:{openid}", kind=self.kind, openid=openid, text=self.text, template=template,
                      fields=fields, url=self.url) for openid in recipients]


def local_time(at: dt.datetime) -> str:
    """12月6日 10:05 (``at`` already in local time)."""
    return f"{at.month}月{at.day}日 {at.hour}:{at.minute:02d}"


def link(console_url: str, path: str) -> str:
    return console_url.rstrip("/") + path if console_url else ""


# -- new applications ----------------------------------------------------------------------------


def next_alert(submitted: Sequence[dt.datetime], last_alert: dt.datetime | None, now: dt.datetime,
               window: dt.timedelta) -> str | None:
    """How to tell of the applications no alert told of yet (``submitted`` oldest first).

    None: nothing, or not yet (an alert went out less than ``window`` ago: later ones are batched);
    "digest": the batch gathered since that alert; "new": at once, after a quiet spell.
    """
    if not submitted or (last_alert is not None and now < last_alert + window):
        return None
    if last_alert is not None and submitted[0] < last_alert + window:
        return "digest"
    return "new"


def batch_key(applications: Sequence[Application]) -> str:
    """The same applications give the same key, so a repeated round writes no second alert."""
    ids = ",".join(str(a.submission_id) for a in sorted(applications, key=lambda a: a.submission_id))
    return "apps:" + hashlib.sha256(ids.encode()).hexdigest()[:16]


def describe(application: Application) -> str:
    """张*，快递员，青溪驿站: what a reviewer needs to recognise it, nothing more."""
    return "，".join(part for part in (application.name_masked, application.occupation, application.station) if part)


def applications_alert(form: str, applications: Sequence[Application], pending: int, tz: dt.tzinfo,
                       console_url: str) -> Alert:
    """One application in full, or how many came (``form`` "digest": since the last alert)."""
    count = len(applications)
    latest = local_time(applications[-1].submitted_at.astimezone(tz))
    url = link(console_url, "/admin/review")
    where = "请登录工作台审核" + ("：" if url else "。")
    if count == 1 and form == "new":
        return Alert("staff_applications", "新的入会申请待审核", describe(applications[0]), latest,
                     f"目前共 {pending} 份待审核，{where}", url)
    title = f"{'又有' if form == 'digest' else '有'} {count} 份新的入会申请待审核"
    named = "；".join(describe(a) for a in applications[:LISTED]) + (" 等" if count > LISTED else "")
    return Alert("staff_applications", title, named, latest, f"目前共 {pending} 份待审核，{where}", url)


# -- 人工 requests -------------------------------------------------------------------------------


def requester(openid: str, member: Mapping[str, object] | None) -> str:
    """Who asked: the member's masked name and number, else the masked openid."""
    if member:
        return f"{member.get('name_masked', '')}（{member.get('number', '')}）"
    return f"微信用户 {mask_openid(openid)}"


def last_question(messages: Sequence[Mapping[str, object]], before: float) -> str:
    """The worker's latest message before they asked for a person (masked), "" when none is kept."""
    earlier = [m for m in messages if float(str(m.get("at", 0))) < before and str(m.get("text", "")).strip()]
    return mask_numbers(str(earlier[-1]["text"]).strip())[:100] if earlier else ""


def human_alert(who: str, asked: str, at: dt.datetime, duty: DutyStatus, console_url: str) -> Alert:
    """A 人工 request; one received off duty says so, and what the worker was told."""
    title = "职工请求人工服务" + ("" if duty.on_duty else "（下班时间收到）")
    parts = [f"最近的问题：{asked}" if asked else "没有留下问题"]
    if not duty.on_duty:
        parts.append(f"已告知对方工作人员将在{duty.next_start} 后回复" if duty.next_start else "已告知对方上班后回复")
    parts.append("请在48小时内通过公众号客服消息回复")
    return Alert("staff_human", title, who, local_time(at), "；".join(parts) + "。",
                 link(console_url, "/admin/human"))


# -- the daily summary ---------------------------------------------------------------------------


def summary_alert(backlog: Backlog, review_days: int, now: dt.datetime, console_url: str) -> Alert:
    """Pending count and the oldest waiting (``now`` local; ``backlog`` has overdue applications)."""
    oldest = backlog.oldest.astimezone(now.tzinfo) if backlog.oldest is not None else now
    waited = (now.date() - oldest.date()).days
    url = link(console_url, "/admin/review")
    detail = (f"目前共 {backlog.pending} 份待审核，最早一份 {oldest.month}月{oldest.day}日 提交，已等待 {waited} 天。"
              "请登录工作台审核" + ("：" if url else "。"))
    return Alert("staff_summary", "入会申请审核提醒", f"{backlog.overdue} 份申请已等待超过 {review_days} 天",
                 local_time(now), detail, url)
