"""Everything the signup flow says to a worker, in one place, so a reviewer reads one diff.

The consent notices come first: their exact wording is fingerprinted (:func:`notice_digest`) and
kept with each consent in the registry's audit trail, so changing a word here changes the
fingerprint recorded for new signups. Pure: text in, text out; the flow decides when to say what.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from bot.signup.occupations import OCCUPATIONS, occupation_display
from bot.signup.privacy import mask_id_number, mask_phone
from bot.signup.validators import GENDER_ZH

# -- consent notices (PIPL art. 14, 17, 29, 30) ------------------------------------------------------


def privacy_text(union_name: str = "工会") -> str:
    return (
        "入会前，请先看一下个人信息怎么用：\n"
        "收集：姓名、手机号、身份证号、职业、单位/平台\n"
        "用途：只用于入会审核和会员服务\n"
        f"保管：由{union_name}加密保存，显示时打码；会员期间保留，退会或您要求删除时删除\n"
        "撤回或删除：随时回复“人工”或联系工作人员\n"
        "同意请回复“同意”，不同意请回复“不同意”。"
    )


ID_CONSENT_TEXT = (
    "还要请您单独同意一项：提供身份证号。\n"
    "为什么要：核实身份、防止重复入会；出生日期和性别直接从号码读取，不用另填。\n"
    "对您的影响：号码加密保存，平时只显示前6位和后4位，只有审核人员因审核需要才能查看完整号码，不做别的用途。\n"
    "不提供也行：只是不能在线办理，可以带身份证到驿站或工会现场办理。\n"
    "同意请回复“同意”，不同意请回复“不同意”。"
)

PRIVACY_REASK = "没看明白您的意思。上面的个人信息说明，同意请回复“同意”，不同意请回复“不同意”。"
ID_CONSENT_REASK = "没看明白您的意思。提供身份证号这一项，同意请回复“同意”，不同意请回复“不同意”。"


def notice_digest(text: str) -> str:
    """Short fingerprint of a notice's exact wording, kept with the consent given to it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def refused_privacy_text(union_name: str, hotline: str) -> str:
    return (
        "好的，尊重您的选择，我们没有保存您的任何信息。\n"
        f"也可以到职工驿站或{union_name}现场申请入会，咨询电话 {hotline}。"
        "以后想在线办理，回复“入会”就行。"
    )


def refused_id_text(union_name: str, hotline: str) -> str:
    return (
        "好的，没有身份证号就不能在线办理，我们没有保存您的任何信息。\n"
        f"您可以带上身份证到职工驿站或{union_name}现场申请入会，咨询电话 {hotline}。"
        "改主意了随时回复“入会”。"
    )


# -- asking for each answer --------------------------------------------------------------------------

NAME_PROMPT = "请发您的姓名（和身份证上一致）。\n也可以一条消息发全：姓名 手机号 身份证号（用空格隔开）。"
PHONE_PROMPT = "请发您的手机号（11位）。"
ID_NUMBER_PROMPT = "请发您的18位身份证号（最后一位是X的，大小写都行）。出生日期和性别会从号码里读取，不用另填。"
OCCUPATION_PROMPT = "您做哪类工作？回复数字就行：\n" + "\n".join(
    f"{i} {o.display}" for i, o in enumerate(OCCUPATIONS, 1)
)
OCCUPATION_OTHER_PROMPT = "请简单写一下您做什么工作（比如：代驾、搬运工）；不想写就回复“跳过”。"
EMPLOYER_PROMPT = "您在哪个单位或平台干活？比如：美团、饿了么、顺丰、某某物流公司。自己干的可以写“个体”。"

# After an answered question: one line that brings the worker back, not the whole prompt again.
PRIVACY_SHORT = "入会申请接着办：同意上面的个人信息说明请回复“同意”，不同意请回复“不同意”。"
ID_CONSENT_SHORT = "入会申请接着办：同意提供身份证号请回复“同意”，不同意请回复“不同意”。"
NAME_SHORT = "入会申请接着填：请发您的真实姓名（和身份证上一致）。"
PHONE_SHORT = "入会申请接着填：请发您的11位手机号。"
ID_NUMBER_SHORT = "入会申请接着填：请发您的18位身份证号。"
OCCUPATION_SHORT = "入会申请接着填：您做哪类工作？回复数字1到10。"
OCCUPATION_OTHER_SHORT = "入会申请接着填：简单写一下您做什么工作，或回复“跳过”。"
EMPLOYER_SHORT = "入会申请接着填：请发您的单位或平台名称。"
SUMMARY_SHORT = "入会申请接着办：核对无误请回复“确认”，要改回复“修改”加序号，不办了回复“取消”。"

FIRST_FIELD_LEAD = "谢谢！"
CANCEL_HINT = "（随时回复“取消”可以退出）"
TEXT_ONLY = "我只能看懂文字，请打字回复。"
EDITED = "已修改。"
STILL_MISSING = "还差一项没填："


def saved_text(labels: list[str]) -> str:
    return "已记下：" + "、".join(dict.fromkeys(labels)) + "。"


def editing_text(label: str) -> str:
    return f"好的，修改{label}。"


# -- questions asked in the middle -------------------------------------------------------------------


def no_answer_text(hotline: str) -> str:
    return f"这个问题我暂时答不上来，可以回复“人工”问工作人员，或拨打职工服务热线 {hotline}。"


def maybe_meant_text(question: str, answer: str) -> str:
    return f"您问的可能是“{question}”：\n{answer}"


# -- entry, leaving and coming back ------------------------------------------------------------------

RESTART_HINT = "想重新办理，回复“入会”或再扫驿站的二维码就行。"
CANCELLED_TEXT = "好的，已取消入会申请，您填过的信息都已清除。" + RESTART_HINT
RESUME_LEAD = "您的入会申请还没填完，我们接着来："
NOTHING_TO_SUBMIT_TEXT = "现在没有待提交的入会申请。想入会请回复“入会”，查看申请进度请回复“我的会员”。"


def welcome_text(station_name: str = "") -> str:
    if station_name:
        return f"欢迎来到{station_name}！在这里可以在线申请加入工会，几步就好。"
    return "您好！现在就可以在线申请加入工会，几步就好。"


def rescanned_text(station_name: str) -> str:
    return f"已记下您在{station_name}扫码。入会申请接着填："


def unknown_station_text(code: str) -> str:
    return f"（没认出驿站编号“{code or '（空）'}”，不影响办理，申请照常提交。）"


def rejected_before_text(reason: str) -> str:
    shown = f"（原因：{reason}）" if reason else ""
    return f"您上次的入会申请没有通过{shown}，这次请按实际情况重新填写。"


ALREADY_APPLIED_LEAD = "您已经申请过入会了，不用重复办理。\n"


# -- the summary ---------------------------------------------------------------------------------------

FIELD_LABELS: dict[str, str] = {
    "name": "姓名",
    "phone": "手机号",
    "id_number": "身份证号",
    "occupation": "职业",
    "employer": "单位/平台",
}
"""The fields in the summary, in order, numbered from 1 for ``修改 N``."""


def summary_text(answers: Mapping[str, Any], station: Mapping[str, Any] | None) -> str:
    """The answers for checking, phone and ID number masked, fields numbered for ``修改 N``."""
    gender = GENDER_ZH.get(answers.get("gender", ""), "")
    values = {
        "name": answers.get("name", ""),
        "phone": mask_phone(answers.get("phone", "")),
        "id_number": mask_id_number(answers.get("id_number", "")) + (f"（{gender}）" if gender else ""),
        "occupation": occupation_display(answers),
        "employer": answers.get("employer", ""),
    }
    lines = ["请核对您的信息："]
    lines += [f"{i} {label}：{values[key]}" for i, (key, label) in enumerate(FIELD_LABELS.items(), 1)]
    if station:
        lines.append(f"驿站：{station.get('name') or station.get('code')}")
    lines.append("没问题请回复“确认”；要改哪项回复“修改”加序号，如“修改2”；不办了回复“取消”。")
    return "\n".join(lines)


WHICH_FIELD = "要改哪一项？"
NOT_UNDERSTOOD = "没看懂您的意思。"


def no_such_field_text(number: int) -> str:
    return f"没有第{number}项，请回复“修改1”到“修改{len(FIELD_LABELS)}”。"


# -- after 确认 ----------------------------------------------------------------------------------------

SUBMITTED_LEAD = "提交成功！\n"
UNAVAILABLE_TEXT = "系统有点忙，您填的信息都还在，请过一会儿再回复“确认”。"
BUSY_RESTART_TEXT = "系统有点忙，请过一会儿再试。" + RESTART_HINT


def needs_staff_text(union_name: str, hotline: str) -> str:
    """For an ID number that cannot be taken online (see ``handlers.join`` on why it says no more)."""
    return (
        "这个身份证号暂时不能在线办理入会，需要工作人员当面核实。\n"
        f"请带上身份证到职工驿站或{union_name}办理，也可以回复“人工”或拨打 {hotline} 咨询。"
        "您刚才填写的信息没有保存。"
    )
