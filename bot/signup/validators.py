"""Checking what a worker types at signup: ID number, mobile number, name, and all three at once.

Pure functions, no clock: the caller passes ``today``. Every check returns either the clean value
or a :class:`ValidationProblem` whose ``reason`` is a stable code (for tests and logs) and whose
``message`` is a short, friendly correction in simplified Chinese, ready to send.

ID numbers follow GB 11643-1999: 6-digit address code, 8-digit birth date, 3-digit sequence
(odd = male), one ISO 7064 MOD 11-2 check character. The same structure and check cover the
residence permits of Hong Kong/Macao/Taiwan residents (81/82/83…) and the 2023 foreigners'
permanent-residence ID (starting with 9), so those pass too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

MIN_AGE = 16
"""Labour law minimum working age: younger applicants are refused."""

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
"""Check character for S mod 11 = 0, 1, …, 10."""

MALE = "male"
FEMALE = "female"
GENDER_ZH = {MALE: "男", FEMALE: "女"}

# -- result types ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidationProblem:
    """Why an answer was not accepted: ``field`` (name/phone/id_number), ``reason`` code, reply text."""

    field: str
    reason: str
    message: str


@dataclass(frozen=True)
class IdNumber:
    """A valid 18-character ID number and what it tells us."""

    value: str
    """Normalised: 18 ASCII characters, check character ``X`` upper case."""
    birth_date: date
    gender: str
    """``male`` (odd sequence) or ``female`` (even)."""

    @property
    def region(self) -> str:
        return self.value[:6]

    def age_on(self, today: date) -> int:
        return age_on(self.birth_date, today)


# Reason codes (stable: tests and logs use them).
ID_EMPTY = "empty"
ID_CHARACTERS = "bad_characters"
ID_OLD_15 = "old_15_digit"
ID_LENGTH = "wrong_length"
ID_REGION = "bad_region"
ID_DATE = "impossible_date"
ID_FUTURE = "future_date"
ID_CHECKSUM = "bad_checksum"
ID_UNDER_AGE = "under_16"

PHONE_EMPTY = "empty"
PHONE_CHARACTERS = "bad_characters"
PHONE_LENGTH = "wrong_length"
PHONE_PREFIX = "bad_prefix"
PHONE_LANDLINE = "landline"

NAME_EMPTY = "empty"
NAME_SHORT = "too_short"
NAME_LONG = "too_long"
NAME_DIGITS = "has_digits"
NAME_CHARACTERS = "bad_characters"
NAME_NOT_A_NAME = "not_a_name"

# -- text helpers ---------------------------------------------------------------------------------

_X_LIKE = str.maketrans({"×": "X", "✕": "X", "╳": "X", "ⅹ": "X", "Ⅹ": "X"})
_SEPARATORS = re.compile(r"[\s\-_/.·,，、]+")


_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
"""Bidi controls (LRM/RLM/ALM, embeddings and overrides, isolates) and zero-width characters."""


def remove_invisible(text: str) -> str:
    """The text without bidi controls and zero-width characters.

    They let a value display differently from what it is (``\u202e`` turns 顺丰 into a reversed
    string in an export, a zero-width space makes two equal names differ), so every free-text
    answer loses them before it is checked or stored.
    """
    return _INVISIBLE.sub("", text or "")


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII), invisible characters removed, trimmed."""
    return unicodedata.normalize("NFKC", remove_invisible(text)).strip()


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2FA1F


# -- ID number --------------------------------------------------------------------------------------


def id_check_char(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def age_on(birth: date, today: date) -> int:
    """Completed years on ``today`` (someone born on 29 February has a birthday on 1 March)."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _id_problem(reason: str, message: str) -> ValidationProblem:
    return ValidationProblem("id_number", reason, message)


def normalize_id_text(text: str) -> str:
    """Full width to ASCII, ×/x to X, spaces and dashes removed."""
    return _SEPARATORS.sub("", normalize(text).translate(_X_LIKE)).upper()


def parse_id_number(text: str, today: date) -> IdNumber | ValidationProblem:
    """A valid 18-character ID number for someone at least 16 on ``today``, or the problem."""
    raw = normalize_id_text(text)
    if not raw:
        return _id_problem(ID_EMPTY, "请发您的18位身份证号。")
    if not re.fullmatch(r"[0-9]*X?", raw):
        if re.fullmatch(r"[0-9X]+", raw):
            return _id_problem(ID_CHARACTERS, "身份证号里的X只会出现在最后一位，请核对后再发。")
        return _id_problem(ID_CHARACTERS, "身份证号只有数字，最后一位可能是X，请不要夹带其他文字或符号。")
    if len(raw) == 15 and raw.isdigit():
        return _id_problem(
            ID_OLD_15, "这是15位的老身份证号，现在要用18位的新号码，请看您现在的身份证（二代证）上的号码。"
        )
    if len(raw) != 18:
        return _id_problem(ID_LENGTH, f"身份证号是18位，您发的是{len(raw)}位，请核对后再发。")
    if raw[0] == "0":
        return _id_problem(ID_REGION, "身份证号开头的地区码不对（不会以0开头），请核对前6位。")
    try:
        birth = date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
    except ValueError:
        birth = None
    if birth is None or birth.year < 1900:
        return _id_problem(ID_DATE, "身份证号中间的出生日期（第7到14位）不对，请核对。")
    if raw[17] != id_check_char(raw[:17]):
        return _id_problem(ID_CHECKSUM, "身份证号最后一位校验不对，请逐位核对后再发。")
    if birth > today:
        return _id_problem(ID_FUTURE, "身份证号里的出生日期比今天还晚，请核对第7到14位。")
    if age_on(birth, today) < MIN_AGE:
        return _id_problem(
            ID_UNDER_AGE,
            f"按规定年满{MIN_AGE}周岁才能入会，这个号码的主人还不满{MIN_AGE}周岁。如果发错了，请重新发。",
        )
    gender = MALE if int(raw[16]) % 2 == 1 else FEMALE
    return IdNumber(value=raw, birth_date=birth, gender=gender)


# -- mobile number ----------------------------------------------------------------------------------

_PHONE_PREFIX = re.compile(r"^(?:\+?86|0086)(?=1\d{10}$)")
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


def normalize_phone_text(text: str) -> str:
    """Full width to ASCII; spaces, dashes, brackets and a +86/86/0086 prefix removed."""
    digits = re.sub(r"[\s\-()（）.]+", "", normalize(text))
    return _PHONE_PREFIX.sub("", digits)


def parse_phone(text: str) -> str | ValidationProblem:
    """An 11-digit mainland mobile number (``^1[3-9]\\d{9}$``), or the problem."""
    phone = normalize_phone_text(text)
    if not phone:
        return ValidationProblem("phone", PHONE_EMPTY, "请发您的手机号（11位数字）。")
    if not phone.isdigit() or not phone.isascii():
        return ValidationProblem("phone", PHONE_CHARACTERS, "手机号只要11位数字，请不要夹带文字或符号。")
    if phone.startswith("0") or (len(phone) in (7, 8) and phone[0] != "1"):
        return ValidationProblem("phone", PHONE_LANDLINE, "这像是座机号，不是手机号。请发您的11位手机号。")
    if len(phone) > 11:
        return ValidationProblem(
            "phone", PHONE_LENGTH, f"这不是手机号（手机号是11位，您发的是{len(phone)}位）。请发您的11位手机号。"
        )
    if len(phone) != 11:
        return ValidationProblem("phone", PHONE_LENGTH, f"手机号是11位数字，您发的是{len(phone)}位，请核对。")
    if not PHONE_RE.match(phone):
        return ValidationProblem(
            "phone", PHONE_PREFIX, "这不像手机号（手机号是1开头，第二位是3到9），请核对。"
        )
    return phone


# -- name -----------------------------------------------------------------------------------------

NAME_MIN = 2
NAME_MAX = 20
_DOTS = re.compile(r"\s*[·•・･‧∙⋅.．。]\s*")
_LATIN_NAME = re.compile(r"[A-Za-z]+(?:[ '\-][A-Za-z]+)*")
NOT_NAMES = frozenset(
    {
        "同意",
        "不同意",
        "我同意",
        "确认",
        "确定",
        "好的",
        "好",
        "可以",
        "是的",
        "对",
        "嗯",
        "嗯嗯",
        "你好",
        "您好",
        "在吗",
        "在不在",
        "入会",
        "我要入会",
        "申请入会",
        "取消",
        "不知道",
        "什么",
        "为什么",
        "怎么",
        "谢谢",
        "收到",
        "没有",
        "不想",
        "不要",
        "算了",
        "哈喽",
        "hi",
        "hello",
        "ok",
        "yes",
        "no",
        "测试",
        "某某",
        "无名",
        "匿名",
        "未知",
        "不详",
        "哈哈",
        "呵呵",
    }
)
PLACEHOLDER_WORDS = frozenset(
    {"null", "undefined", "none", "nil", "nan", "test", "testing", "abc", "abcd", "admin", "user", "name",
     "unknown", "true", "false", "demo", "example", "asdf", "qwer", "qwerty", "xxx", "foo", "bar", "aaa"}
)
"""Latin words that are what people and programs type when they have no name to give."""
_KEYBOARD_RUNS = ("qwert", "asdf", "zxcv", "wert", "sdfg", "xcvb", "hjkl", "uiop", "1234")


NOT_NAME_PARTS = (
    "什么",
    "多少",
    "怎么",
    "为什么",
    "请问",
    "是不是",
    "能不能",
    "可不可以",
    "会费",
    "工会",
    "入会",
    "驿站",
    "会员",
    "你好",
    "您好",
    "谢谢",
    "不知道",
    "吗",
    "呢",
    "吧",
    "嘛",
    "啊",
    "呀",
    "哪",
)
"""Pieces of questions and chat that never occur in a name (``会费多少钱`` is not a name)."""


def looks_like_a_name(text: str) -> bool:
    """False for the usual replies and questions that are not names (同意, 你好, 会费多少钱…)."""
    return text.lower() not in NOT_NAMES and not any(part in text for part in NOT_NAME_PARTS)


_NOT_A_NAME_TEXT = "请发您的真实姓名（和身份证上的一致），比如：张三。"


def _plausible_latin_name(name: str) -> bool:
    """A foreigner's name as on a permit: surname and given name, each a pronounceable word.

    Refuses placeholders (``null``, ``test``, ``abc``), keyboard runs and vowel-less strings
    (``asdf``, ``xkcdq``); a two-letter part without a vowel is kept (Ng, a surname).
    """
    words = re.split(r"[ '\-]+", name.lower())
    if len(words) < 2:
        return False
    for word in words:
        if word in PLACEHOLDER_WORDS or any(run in word for run in _KEYBOARD_RUNS):
            return False
        if len(word) > 2 and not re.search(r"[aeiouy]", word):
            return False
        if re.search(r"(.)\1\1", word):
            return False
    return True


def parse_name(text: str) -> str | ValidationProblem:
    """A real-looking name: 2-20 Chinese characters (· for minority names) or Latin letters."""
    name = normalize(text)
    name = re.sub(r"^(?:我叫|我是|本人|(?:真实)?(?:姓名|名字)(?:是|叫|为)?)\s*[:：]?\s*", "", name)
    name = re.sub(r"\s+", " ", name).strip(" 。.!！,，")
    if not name:
        return ValidationProblem("name", NAME_EMPTY, "请发您的姓名（和身份证上的一致）。")
    if any(ch.isdigit() for ch in name):
        return ValidationProblem("name", NAME_DIGITS, "姓名里不能有数字，请只发姓名（和身份证上的一致）。")
    if not looks_like_a_name(name):
        return ValidationProblem("name", NAME_NOT_A_NAME, _NOT_A_NAME_TEXT)
    if any(_is_cjk(ch) for ch in name):
        name = _DOTS.sub("·", name).replace(" ", "")
        parts = name.split("·")
        if not all(parts) or not all(_is_cjk(ch) for part in parts for ch in part):
            return ValidationProblem(
                "name", NAME_CHARACTERS, "姓名只能是汉字（少数民族姓名中间可以用·），请和身份证上的写法一致。"
            )
    elif not _LATIN_NAME.fullmatch(name):
        return ValidationProblem(
            "name", NAME_CHARACTERS, "姓名只能是汉字或字母，不要带符号，请和身份证件上的写法一致。"
        )
    elif not _plausible_latin_name(name):
        return ValidationProblem(
            "name", NAME_NOT_A_NAME, "请发您证件上的全名（外文姓名写姓和名，用空格隔开），比如：张三、John Smith。"
        )
    if len(name) < NAME_MIN:
        return ValidationProblem("name", NAME_SHORT, "姓名至少两个字，请发全名（和身份证上的一致）。")
    if len(name) > NAME_MAX:
        return ValidationProblem("name", NAME_LONG, f"姓名最多{NAME_MAX}个字，请只发姓名。")
    if re.search(r"(.)\1\1", name):  # 哈哈哈, 啊啊啊
        return ValidationProblem("name", NAME_NOT_A_NAME, _NOT_A_NAME_TEXT)
    return name


# -- several fields in one message ------------------------------------------------------------------


@dataclass(frozen=True)
class Fields:
    """What one message seems to contain. Values are candidates: validate them with ``parse_*``."""

    name: str | None = None
    phone: str | None = None
    """Separators and +86 removed."""
    id_number: str | None = None
    """Separators removed, X upper case; may have the wrong length (then it is still the candidate)."""
    numbers: tuple[str, ...] = ()
    """Other digit runs of five or more digits that fit neither pattern (e.g. a 10-digit phone)."""
    rest: str = ""
    """Words left over after the name (e.g. ``3 美团``), separated by single spaces."""

    @property
    def found(self) -> bool:
        return bool(self.name or self.phone or self.id_number or self.numbers)


_D = "[0-9]"
# 18 characters, a single space or dash allowed between any two ("110105 19491231 002X").
_ID_RE = re.compile(rf"(?<![0-9A-Za-z])(?:{_D}[ \-]?){{17}}[0-9Xx](?![0-9A-Za-z])")
_PHONE_FIND_RE = re.compile(
    rf"(?<![0-9+])(?:(?:\+|00)?86[ \-]?)?(1{_D}{{2}}[ \-]?{_D}{{4}}[ \-]?{_D}{{4}})(?![0-9Xx])"
)
# Long digit runs that are not phones: an ID number of the wrong length (15, 17, 19 digits…).
_LONG_RE = re.compile(rf"(?<![0-9]){_D}(?:[ \-]?{_D}){{11,}}[Xx]?(?![0-9A-Za-z])")
_NUMBER_RE = re.compile(rf"(?<![0-9A-Za-z])\+?{_D}(?:[ \-]?{_D})*[Xx]?(?![0-9A-Za-z])")
_LABELS = re.compile(
    r"(?:联系电话|电话号码|手机号码|手机号|手机|电话|联系方式|身份证号码|身份证号|身份证|证件号码|证件号|"
    r"号码|真实姓名|姓名|名字|我叫|我是|本人)(?:是|叫|为)?\s*[:：]?"
)
_TOKEN_SPLIT = re.compile(r"[\n,，、;；:：/|。!！?？()（）\[\]【】\"“”]+")


def split_fields(text: str) -> Fields:
    """Find a name, a mobile number and an ID number in one message, in any order and layout.

    ``张三 13812345678 11010519491231002X`` and ``我叫张三，电话138-1234-5678，身份证11010519491231002x``
    both give name 张三, phone 13812345678, ID 11010519491231002X.
    """
    work = normalize(text).translate(_X_LIKE)
    work = re.sub(r"(?<=[0-9])[xX]", "X", work)

    id_number = None
    if m := _ID_RE.search(work):
        id_number = normalize_id_text(m.group(0))
        work = work[: m.start()] + "\n" + work[m.end() :]
    phone = None
    if m := _PHONE_FIND_RE.search(work):
        phone = normalize_phone_text(m.group(1))
        work = work[: m.start()] + "\n" + work[m.end() :]
    if id_number is None and (m := _LONG_RE.search(work)):
        id_number = normalize_id_text(m.group(0))
        work = work[: m.start()] + "\n" + work[m.end() :]
    numbers = []
    for m in _NUMBER_RE.finditer(work):
        digits = re.sub(r"[^0-9X]", "", m.group(0))
        if len(digits) >= 5:
            numbers.append(digits)
    if numbers:
        work = _NUMBER_RE.sub(
            lambda m: "\n" if len(re.sub(r"[^0-9X]", "", m.group(0))) >= 5 else m.group(0), work
        )

    work = _LABELS.sub("\n", work)
    pieces: list[str] = []
    for token in _TOKEN_SPLIT.split(work):
        token = re.sub(r"\s+", " ", token).strip()
        if not token:
            continue
        if any(_is_cjk(ch) for ch in token):
            pieces.extend(token.split(" "))
        else:
            pieces.append(token)
    name = None
    rest: list[str] = []
    for piece in pieces:
        candidate = piece
        if (
            name is None
            and any(ch.isalpha() for ch in candidate)
            and not any(ch.isdigit() for ch in candidate)
            and looks_like_a_name(candidate)
        ):
            name = candidate
        else:
            rest.append(piece)
    return Fields(name=name, phone=phone, id_number=id_number, numbers=tuple(numbers), rest=" ".join(rest))
