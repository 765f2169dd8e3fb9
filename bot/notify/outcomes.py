"""What a worker is told when staff decide on their application or membership (通过, 不通过, 退会,
个人信息已删除): the notice's text, its template form, and the key that makes it go out once.

Pure functions of the member as decided and the config; :mod:`bot.notify.decisions` is the shell.
The key names the decision, not the request: ``outcome:<number>:approved:<id of the audit entry>``,
so however often a double-click, a retried command or a crash replays one approval it is one
message, while a member approved, withdrawn and approved again hears of each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from bot.config import NotifyConfig, ServiceConfig
from bot.notify.template import fill_fields
from bot.registry.notices import Draft, NoticeRow

KIND = "outcome"

DECISIONS = ("approved", "rejected", "withdrawn", "erased")
"""The statuses a worker is told about; each is also the audit-trail action that set it."""

CHANNELS = {"template": "模板消息", "customer_service": "客服消息", "next_message": "工人发消息时显示"}
"""How a notice reached the worker, as staff read it (送达方式)."""
DEFERRED = "待工人下次发消息时显示"

def outcome_key(number: str, decision: str, decision_id: int) -> str:
    return f"{KIND}:{number}:{decision}:{decision_id}"


def outcome_draft(member: Mapping[str, Any], decision_id: int, notify: NotifyConfig, service: ServiceConfig,
                  tz: dt.tzinfo) -> Draft:
    """The notice for the decision ``member["status"]`` (audit entry ``decision_id``), to ``member["openid"]``.

    It never carries a phone or ID number; the name only masked, and after an erasure neither
    name nor number.
    """
    decision = str(member["status"])
    if decision not in DECISIONS:
        raise ValueError(f"no outcome notice for status {decision!r}")
    number = str(member["number"])
    union, hotline = service.union_name, service.hotline
    ask = f"有疑问请回复“人工”，或拨打{hotline}（{service.office_hours}）。"
    reason = str(member.get("reason") or "").strip()
    if decision == "approved":
        title, result = "您的入会申请已审核通过", "审核通过"
        detail = f"会员号 {number}。回复“我的会员”查看会员卡；如有疑问请拨打{hotline}。"
        text = (f"【入会审核结果】您的入会申请已审核通过，欢迎加入{union}！\n会员号：{number}\n"
                f"回复“我的会员”可随时查看会员卡；{ask}")
    elif decision == "rejected":
        reason = reason or "信息不完整或不符合入会条件"
        title, result = "您的入会申请未通过审核", "未通过"
        detail = f"原因：{reason}。信息有误的，改正后回复“入会”重新提交；如有疑问请拨打{hotline}。"
        text = (f"【入会审核结果】很抱歉，您的入会申请未通过审核。\n原因：{reason}\n"
                f"信息有误的，改正后回复“入会”重新提交；{ask}")
    elif decision == "withdrawn":
        title, result = f"您已退出{union}", "已退会"
        detail = (f"说明：{reason}。" if reason else "") + f"如需重新入会，回复“入会”；如有疑问请拨打{hotline}。"
        text = (f"【会员状态变更】您已退出{union}，会员号 {number} 不再使用。\n"
                + (f"说明：{reason}\n" if reason else "") + f"如需重新入会，回复“入会”重新申请；{ask}")
    else:  # erased: nothing personal, not even the number
        title, result = "您的个人信息已删除", "信息已删除"
        detail = f"如需再次入会，回复“入会”重新申请；如有疑问请拨打{hotline}。"
        text = (f"【个人信息已删除】{union}已删除您入会登记时留下的个人信息（姓名、手机号、身份证号等），"
                f"入会登记随之注销。\n如需再次入会，回复“入会”重新申请；{ask}")
    erased = decision == "erased"
    when = dt.datetime.fromisoformat(str(member["updated_at"])).astimezone(tz)
    values = {"title": title, "result": result, "detail": detail, "time": f"{when:%Y-%m-%d %H:%M}",
              "name": "—" if erased else str(member.get("name_masked") or "—"),
              "number": "—" if erased else number}
    return Draft(key=outcome_key(number, decision, decision_id), kind=KIND, openid=str(member["openid"]), text=text,
                 template=notify.outcome_template,
                 fields=fill_fields(notify.outcome_fields, values) if notify.outcome_template else {},
                 member_number=number)


def channel_label(row: NoticeRow | None) -> str:
    """How a notice went, in a word or two (送达方式, or why not yet)."""
    if row is None:
        return "稍后自动发送"
    if row.status == "sent":
        return CHANNELS.get(row.channel, row.channel)
    if row.status == "shown":
        return "已在工人发消息时显示"
    if row.status == "waiting":
        return DEFERRED
    return {"pending": "稍后自动重试", "sending": "正在发送"}.get(row.status, "未送达")


def delivery_line(row: NoticeRow | None) -> str:
    """One sentence for staff on how the worker was told (console message, CLI output); ``None``:
    written with the decision but not tried yet (the database went away in between)."""
    if row is None:
        return "通知已记下，稍后自动发送。"
    if row.status == "sent":
        return f"已通知本人，送达方式：{channel_label(row)}。"
    if row.status == "waiting":
        return f"微信暂时无法送达（{row.error}），送达方式：{channel_label(row)}。"
    if row.status == "shown":
        return "通知已在工人发消息时显示。"
    if row.status == "pending":
        return "微信暂时没有响应，通知会自动重试。"
    if row.status == "sending":
        return "通知正在发送。"
    return f"通知未送达（{row.error or row.status}）。"
