"""ID number, mobile number and name checks, and finding all three in one message."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from support.ids import make_id

from bot.signup.validators import (
    FEMALE,
    ID_CHARACTERS,
    ID_CHECKSUM,
    ID_DATE,
    ID_EMPTY,
    ID_FUTURE,
    ID_LENGTH,
    ID_OLD_15,
    ID_REGION,
    ID_UNDER_AGE,
    MALE,
    NAME_CHARACTERS,
    NAME_DIGITS,
    NAME_LONG,
    NAME_NOT_A_NAME,
    NAME_SHORT,
    PHONE_CHARACTERS,
    PHONE_LENGTH,
    PHONE_PREFIX,
    Fields,
    IdNumber,
    ValidationProblem,
    age_on,
    id_check_char,
    parse_id_number,
    parse_name,
    parse_phone,
    split_fields,
)

TODAY = date(2024, 6, 1)


def reason(result: object) -> str:
    assert isinstance(result, ValidationProblem), result
    return result.reason


# -- ID number: known values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "birth", "gender"),
    [
        ("11010519491231002X", date(1949, 12, 31), FEMALE),
        ("11010519491231002x", date(1949, 12, 31), FEMALE),  # lower-case x
        ("１１０１０５１９４９１２３１００２Ｘ", date(1949, 12, 31), FEMALE),  # full width
        ("110105 19491231 002X", date(1949, 12, 31), FEMALE),  # grouped with spaces
        ("11010519491231002×", date(1949, 12, 31), FEMALE),  # multiplication sign for X
        ("34052419800101001X", date(1980, 1, 1), MALE),
    ],
)
def test_known_valid_numbers(text: str, birth: date, gender: str) -> None:
    result = parse_id_number(text, TODAY)
    assert isinstance(result, IdNumber)
    assert result.value == "11010519491231002X" or result.value == "34052419800101001X"
    assert result.birth_date == birth
    assert result.gender == gender
    assert result.region == result.value[:6]


def test_check_char_table() -> None:
    assert id_check_char("11010519491231002") == "X"
    assert id_check_char("44052418800101001") == "4"
    assert id_check_char("34052419800101001") == "X"


@pytest.mark.parametrize(
    ("text", "expected", "words"),
    [
        ("", ID_EMPTY, "18位"),
        ("   ", ID_EMPTY, "18位"),
        ("1101051949123100", ID_LENGTH, "16位"),
        ("1101051949123100201", ID_LENGTH, "19位"),
        ("110105194912310", ID_OLD_15, "18位"),
        ("11010519491231002A", ID_CHARACTERS, "数字"),
        ("身份证11010519491231002X号", ID_CHARACTERS, "数字"),
        ("1101051949X231002X", ID_CHARACTERS, "最后一位"),
        ("110105194912310021", ID_CHECKSUM, "最后一位校验不对"),
        (make_id(date(1949, 12, 31), 2, "110105")[:10] + "1331" + "0020", ID_DATE, "出生日期"),
        ("010105" + "19491231" + "0020", ID_REGION, "地区码"),
        (make_id(date(2030, 1, 1), 11, "110105"), ID_FUTURE, "比今天还晚"),
        (make_id(date(2010, 1, 1), 11, "110105"), ID_UNDER_AGE, "16周岁"),
    ],
)
def test_each_failure_has_its_own_reason(text: str, expected: str, words: str) -> None:
    result = parse_id_number(text, TODAY)
    assert reason(result) == expected
    assert words in result.message


def test_impossible_dates() -> None:
    for bad in ("19490230", "19491301", "19490000", "18991231"):
        first17 = "110105" + bad + "002"
        assert reason(parse_id_number(first17 + id_check_char(first17), TODAY)) == ID_DATE


def test_age_boundary() -> None:
    sixteen_today = make_id(date(2008, 6, 1), 11, "110105")
    sixteen_tomorrow = make_id(date(2008, 6, 2), 11, "110105")
    assert isinstance(parse_id_number(sixteen_today, TODAY), IdNumber)
    assert reason(parse_id_number(sixteen_tomorrow, TODAY)) == ID_UNDER_AGE


def test_leap_day_birthdays() -> None:
    born = date(2004, 2, 29)
    assert age_on(born, date(2020, 2, 28)) == 15
    assert age_on(born, date(2020, 2, 29)) == 16
    assert age_on(born, date(2021, 2, 28)) == 16
    assert age_on(born, date(2021, 3, 1)) == 17
    number = make_id(born, 11, "110105")
    assert reason(parse_id_number(number, date(2020, 2, 28))) == ID_UNDER_AGE
    assert isinstance(parse_id_number(number, date(2020, 2, 29)), IdNumber)


def test_residence_permits_and_foreigner_ids_use_the_same_rules() -> None:
    for region in ("810000", "820000", "830000", "911156"):
        result = parse_id_number(make_id(date(1990, 5, 17), 123, region), TODAY)
        assert isinstance(result, IdNumber)
        assert result.gender == MALE


# -- ID number: properties ------------------------------------------------------------------------

regions = st.integers(min_value=100000, max_value=999999).map(str)
births = st.dates(min_value=date(1900, 1, 1), max_value=date(TODAY.year - 16, TODAY.month, TODAY.day))
sequences = st.integers(min_value=0, max_value=999)


@given(regions, births, sequences)
def test_generated_numbers_are_accepted(region: str, birth: date, sequence: int) -> None:
    number = make_id(birth, sequence, region)
    result = parse_id_number(number, TODAY)
    assert isinstance(result, IdNumber)
    assert result.value == number
    assert result.birth_date == birth
    assert result.gender == (MALE if sequence % 2 else FEMALE)
    lower = parse_id_number(number.lower(), TODAY)
    assert isinstance(lower, IdNumber) and lower.value == number


@given(regions, births, sequences, st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_any_single_change_is_rejected(
    region: str, birth: date, sequence: int, position: int, char: str
) -> None:
    number = make_id(birth, sequence, region)
    assume(number[position] != char)
    changed = number[:position] + char + number[position + 1 :]
    assert isinstance(parse_id_number(changed, TODAY), ValidationProblem)


@given(regions, births, sequences, st.integers(min_value=0, max_value=16))
def test_swapping_neighbours_is_usually_caught(
    region: str, birth: date, sequence: int, position: int
) -> None:
    number = make_id(birth, sequence, region)
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    assume(swapped != number and number[position + 1] != "X")
    assert isinstance(parse_id_number(swapped, TODAY), ValidationProblem)


@given(st.text(max_size=60), st.dates())
def test_random_text_never_crashes(text: str, today: date) -> None:
    result = parse_id_number(text, today)
    assert isinstance(result, IdNumber | ValidationProblem)


@given(st.text(alphabet="0123456789Xx -０１２３４５６７８９", max_size=25))
def test_digit_soup_never_crashes(text: str) -> None:
    assert isinstance(parse_id_number(text, TODAY), IdNumber | ValidationProblem)


# -- mobile numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "8613812345678",
        "0086 13812345678",
        "１３８１２３４５６７８",
    ],
)
def test_phone_forms(text: str) -> None:
    assert parse_phone(text) == "13812345678"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1381234567", PHONE_LENGTH),
        ("138123456789", PHONE_LENGTH),
        ("12812345678", PHONE_PREFIX),
        ("23812345678", PHONE_PREFIX),
        ("138abcd5678", PHONE_CHARACTERS),
        ("我没有手机", PHONE_CHARACTERS),
    ],
)
def test_phone_problems(text: str, expected: str) -> None:
    assert reason(parse_phone(text)) == expected


@given(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_generated_phones(second: str, tail: str) -> None:
    assert parse_phone(f"1{second}{tail}") == f"1{second}{tail}"
    assert parse_phone(f"+86 1{second}{tail[:2]}-{tail[2:6]}-{tail[6:]}") == f"1{second}{tail}"


@given(st.text(max_size=40))
def test_phone_random_text_never_crashes(text: str) -> None:
    result = parse_phone(text)
    assert isinstance(result, ValidationProblem) or (len(result) == 11 and result.isdigit())


# -- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("张三", "张三"),
        ("欧阳娜娜", "欧阳娜娜"),
        (" 张三。", "张三"),
        ("我叫张三", "张三"),
        ("姓名：李四", "李四"),
        ("张 三", "张三"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("阿依古丽.买买提", "阿依古丽·买买提"),
        ("John Smith", "John Smith"),
        ("Ahmad  Ali", "Ahmad Ali"),
    ],
)
def test_names(text: str, name: str) -> None:
    assert parse_name(text) == name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("张", NAME_SHORT),
        ("张三3", NAME_DIGITS),
        ("123", NAME_DIGITS),
        ("张" * 21, NAME_LONG),
        ("张三!@#", NAME_CHARACTERS),
        ("张三Smith", NAME_CHARACTERS),
        ("·张三", NAME_CHARACTERS),
        ("同意", NAME_NOT_A_NAME),
        ("你好", NAME_NOT_A_NAME),
    ],
)
def test_name_problems(text: str, expected: str) -> None:
    assert reason(parse_name(text)) == expected


@given(st.text(max_size=40))
def test_name_random_text_never_crashes(text: str) -> None:
    result = parse_name(text)
    assert isinstance(result, ValidationProblem) or 2 <= len(result) <= 20


# -- several fields in one message ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "张三 13812345678 11010519491231002X",
        "我叫张三，电话138-1234-5678，身份证11010519491231002x",
        "11010519491231002X 13812345678 张三",
        "13812345678张三11010519491231002X",
        "张三\n13812345678\n11010519491231002X",
        "姓名：张三；手机号：+86 138 1234 5678；身份证号：110105 19491231 002X",
        "张三，１３８１２３４５６７８，１１０１０５１９４９１２３１００２ｘ",
        "张三、13812345678、11010519491231002X。",
    ],
)
def test_split_fields_finds_all_three(text: str) -> None:
    fields = split_fields(text)
    assert fields.name == "张三"
    assert fields.phone == "13812345678"
    assert fields.id_number == "11010519491231002X"
    assert fields.rest == ""


def test_split_fields_partial_and_leftovers() -> None:
    assert split_fields("13812345678") == Fields(phone="13812345678")
    assert split_fields("张三") == Fields(name="张三")
    only_id = split_fields("11010519491231002X")
    assert only_id.id_number == "11010519491231002X" and only_id.name is None
    short_phone = split_fields("张三 1381234567 11010519491231002X")
    assert short_phone.phone is None and short_phone.numbers == ("1381234567",)
    long_id = split_fields("张三 13812345678 1101051949123100")
    assert long_id.id_number == "1101051949123100"  # wrong length, still the ID candidate
    assert split_fields("Ahmad Ali 13812345678").name == "Ahmad Ali"
    assert split_fields("你好，我叫张三").name == "张三"
    tail = split_fields("张三 13812345678 11010519491231002X 3 美团")
    assert tail.name == "张三" and tail.rest == "3 美团"


names = st.text(
    alphabet="张王李赵刘陈杨黄周吴伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂", min_size=2, max_size=4
)
phones = st.tuples(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9)).map(
    lambda t: f"1{t[0]}{t[1]}"
)
ids = st.builds(make_id, births, sequences, regions)
separators = st.sampled_from([" ", "，", ",", "、", "\n", "  ", "；"])


@given(names, phones, ids, st.permutations([0, 1, 2]), separators, st.booleans())
def test_split_fields_any_order(
    name: str, phone: str, id_number: str, order: list[int], sep: str, lower: bool
) -> None:
    labelled = ["姓名" + name, "手机" + phone, "身份证" + (id_number.lower() if lower else id_number)]
    plain = [name, phone, id_number.lower() if lower else id_number]
    for parts in (plain, labelled):
        fields = split_fields(sep.join(parts[i] for i in order))
        assert fields.name == name
        assert fields.phone == phone
        assert fields.id_number == id_number


@given(st.text(max_size=80))
def test_split_fields_random_text_never_crashes(text: str) -> None:
    fields = split_fields(text)
    assert isinstance(fields, Fields)


def test_age_helper_matches_the_birthday_rule() -> None:
    born = date(2000, 6, 2)
    assert age_on(born, date(2016, 6, 2)) == 16
    assert age_on(born, date(2016, 6, 1)) == 15
    assert age_on(born, date(2000, 6, 2)) == 0
