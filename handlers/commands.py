"""Fixed commands and the replies that are not answers: 人工, 帮助, 取消, 更多, greetings and
thanks, fallback."""

from __future__ import annotations

import re

from bot.core.conversation import Context, Effect, Incoming, Outcome, State
from bot.core.words import CANCEL_WORDS, Trigger, command_word
from bot.faq.text import normalize
from handlers import faq

HUMAN = Trigger(frozenset({"人工", "转人工", "人工客服", "找人工", "真人", "客服", "人工服务", "找客服"}))
HELP = Trigger(frozenset({"帮助", "菜单", "help", "功能", "你能干啥", "你能做什么", "怎么用"}),
               menu_keys=frozenset({"HELP"}))
MORE_WORDS = frozenset({"更多", "下文", "继续", "后面", "看全文"})
SMALL_TALK_WORDS = frozenset({
    "好", "好的", "好滴", "好嘞", "好吧", "行", "行吧", "可以", "收到", "知道了", "明白", "明白了", "懂了",
    "了解", "了解了", "辛苦", "辛苦了", "再见", "拜拜", "88", "有人吗", "有人在吗", "有没有人", "人呢",
    "早", "早上好", "上午好", "中午好", "下午好", "晚上好", "哈喽", "哈罗", "嗨",
})
"""What is small talk once normalised, besides what normalising empties (你好, 在吗, 谢谢, 嗯, ok)."""
_PUZZLED_RE = re.compile(r"[?？]")
"""A bare ？ is asking what to ask: the menu (command_word strips punctuation, so it cannot be a HELP_WORD)."""
_THANKS_RE = re.compile(r"谢|謝|感谢|感謝|辛苦|thank|thx|3q")
_BYE_RE = re.compile(r"再见|再見|拜拜|bye|^88$")
_GREETING_RE = re.compile(r"你好|您好|们好|在吗|在不在|有人|人呢|早|午好|晚上好|hello|^hi$|哈喽|哈罗|嗨|喂")


def help_text(ctx: Context) -> str:
    return (
        f"您好，这里是{ctx.union_name}。您可以直接打字提问，比如“怎么入会”“会费怎么交”“欠薪了找谁”。\n"
        "也可以回复：\n"
        "【入会】在线申请加入工会\n"
        "【我的会员】查看会员卡和审核进度\n"
        "【驿站】找附近的职工驿站\n"
        "【人工】找工作人员\n"
        f"维权求助可拨打职工服务热线 {ctx.hotline}。"
    )


def human_text(ctx: Context) -> str:
    """On duty: a person answers soon; off duty: when they will (nobody waits in silence)."""
    duty = ctx.duty.status(ctx.now) if ctx.duty is not None else None
    if duty is None:
        hours = f"（{ctx.office_hours}）" if ctx.office_hours else ""
        told = f"好的，已为您转接工作人员{hours}，请直接留言说明情况，看到后会尽快回复。"
    elif duty.on_duty:
        told = "好的，已通知值班的工作人员，请直接留言说明情况，工作人员会尽快回复您。"
    else:
        after = f"将在{duty.next_start} 后回复您" if duty.next_start else "上班后会回复您"
        return (f"现在是下班时间，已为您通知工作人员，{after}，请先留言说明情况。\n"
                f"急事请拨打职工服务热线 {ctx.hotline}。")
    return f"{told}\n着急的话可以拨打职工服务热线 {ctx.hotline}。"


def greeting(ctx: Context) -> str:
    return "欢迎关注！" + help_text(ctx)


def human(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    if HUMAN(message):
        state, followed_up = faq.human_after_gap(state, ctx)
        effects = (Effect("count_question", {"outcome": "human", "at": ctx.now, "user": message.user,
                                             "text": message.text or ""}),
                   Effect("human_requested", {"user": message.user, "at": ctx.now}), *followed_up)
        return Outcome(state=state, replies=(human_text(ctx),), effects=effects, transfer_to_human=True)
    return None


def help_menu(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    if HELP(message):
        return Outcome(state=state, replies=(help_text(ctx),))
    return None


def small_talk(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    """A greeting, thanks, goodbye, "ok" or a bare ？ on its own: a friendly word (the menu for a
    greeting or a ？), not "no answer found"
    (and no gap for the staff: nothing was asked)."""
    if not message.is_text_like:
        return None
    rest = normalize(message.text).replace(" ", "")
    if rest and rest not in SMALL_TALK_WORDS:
        return None
    word = command_word(message.text)
    if _THANKS_RE.search(word):
        reply = "不客气！还有问题随时发消息给我。"
    elif _BYE_RE.search(word):
        reply = "再见！有需要随时发消息给我。"
    elif _GREETING_RE.search(word) or (not rest and _PUZZLED_RE.search(message.text or "")):
        reply = help_text(ctx)  # a greeting, or a bare ？ (what is this? what can I ask?)
    else:
        reply = "好的。还有问题随时发消息给我。"
    return Outcome(state=state, replies=(reply,))


def cancel_without_flow(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    """取消 when nothing is in progress (an active flow handles its own 取消 first)."""
    if message.is_text_like and command_word(message.text) in CANCEL_WORDS:
        rest = {k: v for k, v in state.items() if k not in ("suggestions", "suggested_for", "more")}
        return Outcome(state=rest, replies=("好的，已取消。有需要随时发消息给我。",))
    return None


def read_more(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    """更多: the next part of a reply that was too long for one WeChat message."""
    if state.get("more") and message.is_text_like and command_word(message.text) in MORE_WORDS:
        rest = dict(state)
        text = rest.pop("more")
        return Outcome(state=rest, replies=(text,))
    return None


def events(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    """Events no other handler took: greet new followers, forget leavers, ignore the rest."""
    if message.kind != "event":
        return None
    if message.event == "subscribe":
        return Outcome(state=state, replies=(greeting(ctx),))
    if message.event == "unsubscribe":
        return Outcome(state={})  # WeChat asks developers to drop a leaver's conversation data
    if message.event == "click":  # HELP, or a button no handler knows: a tap always gets an answer
        return Outcome(state=state, replies=(help_text(ctx),))
    return Outcome(state=state)  # view, location reports, template receipts: nothing to say


def fallback(state: State, message: Incoming, ctx: Context) -> Outcome:
    """Whatever nothing else took: never leave a worker without a next step."""
    if message.kind == "voice":
        text = "抱歉，这条语音没能识别出文字，麻烦您打字发给我，我马上帮您查。"
    elif message.kind in ("image", "video", "shortvideo"):
        text = "收到。我暂时看不懂图片和视频，请用文字描述您的问题；需要工作人员查看请回复“人工”。"
    elif message.kind == "link":
        text = "收到链接。我暂时不能打开链接，请用文字说说您想问什么；需要工作人员请回复“人工”。"
    else:
        text = help_text(ctx)
    return Outcome(state=state, replies=(text,))
