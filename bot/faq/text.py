"""Chinese text helpers shared by the matcher, the knowledge checks and the handlers.

Pure functions and character classes, no knowledge: :func:`normalize` (the canonical form of a
question), :func:`segments`, and the function, time and aspect characters the matcher and its
out-of-scope checks treat specially. Handlers may import this module (and no other of bot.faq).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CC = None


def _t2s(text: str) -> str:
    """Traditional → simplified Chinese (OpenCC, loaded on first use: it takes a moment)."""
    global _CC
    if _CC is None:
        from opencc_purepy import OpenCC

        _CC = OpenCC("t2s")
    return _CC.convert(text)


FILLERS = (
    # polite wrappers and openers
    "麻烦问一下", "麻烦问下", "我想问一下", "我想问下", "我想问问", "想问一下", "想问下", "想问问",
    "请问一下", "请问下", "请问", "问一下", "问下", "打扰一下", "打扰了", "麻烦你", "麻烦您", "麻烦",
    "你好", "您好", "你们好", "大家好", "在吗", "在不在", "谢谢", "多谢", "感谢",
    # voice fillers and particles
    "那个", "就是说", "就是", "然后", "嗯", "啊", "呢", "吧", "哈", "喂", "呀", "哦", "噢", "嘛", "哎",
    "唉", "额", "呃", "诶", "哇", "啦", "咯", "呗",
)
_FILLER_RE = re.compile("|".join(sorted(map(re.escape, FILLERS), key=len, reverse=True)))
_WECHAT_EMOJI_RE = re.compile(r"\[[^\[\]\s]{1,8}\]|/:[a-z!@#$%^&*()<>?~]{1,8}")
_KEEP_RE = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")
_SPACE_RE = re.compile(r"\s+")
CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
"""A CJK ideograph; ``CJK_RE.match(segment)`` tells a Chinese run from a latin/digit one."""

# A few English words workers type instead of Chinese (general chat vocabulary, not per case).
GLOSSARY = {"address": "地址", "addr": "地址", "phone": "电话", "tel": "电话", "call": "电话",
            "hi": "", "hello": "", "ok": "", "okay": "", "thanks": "", "thx": ""}


def basic_form(text: str) -> str:
    """Half width, lower case, simplified, WeChat emoji codes removed; punctuation kept (an
    answer's ``9:00`` still reads as opening hours)."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = _WECHAT_EMOJI_RE.sub(" ", text)
    return _t2s(text)


def _clean(text: str) -> str:
    text = _KEEP_RE.sub(" ", text)
    # separate scripts: 入会shenhe结果 -> 入会 shenhe 结果
    text = re.sub(r"(?<=[0-9a-z])(?=[\u3400-\u9fff])|(?<=[\u3400-\u9fff])(?=[0-9a-z])", " ", text)
    return _SPACE_RE.sub(" ", text).strip()


@lru_cache(maxsize=16384)
def normalize(text: str) -> str:
    """Canonical form of a question: half width, lower case, simplified, no emoji, punctuation
    or fillers; single spaces between runs."""
    text = _clean(basic_form(text))
    text = _FILLER_RE.sub(" ", text)
    words = [GLOSSARY.get(w, w) for w in text.split(" ")]
    return _SPACE_RE.sub(" ", " ".join(words)).strip()


def segments(text: str) -> list[str]:
    """The runs of a normalised text (Chinese runs and latin/digit tokens)."""
    return [s for s in text.split(" ") if s]


STOP_CHARS = frozenset(
    "的了吗么呢吧啊我你您他她它们是在有没不怎什哪那这个一些还就都也和与或及要想能可以吗嘛呀哦得地着过"
    "把被给让对从到去来说下上里又很太再才啥咋谁几多少何为儿自己已经该应吧呗咱"
)
"""Function characters: pronouns, particles, question words, common verbs of asking."""
_STOP_BIGRAM_TEXT = (
    "怎么 什么 可以 能不 不能 是不 不是 有没 没有 哪里 哪儿 多少 如何 为什 么办 请问 一下 知道 我们 你们 他们 "
    "这个 那个 是否 需要 怎样 咋办 么样 的话 我的 我是 我想 想要 我要 还是 一个 的时 时候 能够 可不 不可 "
    "现在 已经 一直 应该 咱们 这边 那边 么么 了吗 的吗 吗我 了没 有吗 能吗 么弄 么回 回事"
)
STOP_BIGRAMS = frozenset(_STOP_BIGRAM_TEXT.split())
"""Function bigrams: the grammar of a question, not what it is about."""

TIME_CHARS = frozenset("年月日天号周点时分秒岁个次两三四五六七八九十百千万")
"""Time and quantity characters (两年, 周六): never a word that changes what a term means."""

ASPECT_CHARS = frozenset("了过着")
"""Aspect particles, which can split a verb-object word: 入过会 is 入会 done."""
