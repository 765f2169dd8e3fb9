"""With the meaning signal: both signals agreeing on an entry lets weak evidence through to a
suggestion only when the question shares a key word with it or is really close in meaning."""

from __future__ import annotations

from bot.faq.knowledge import Entry, Knowledge
from bot.faq.matcher import Matcher
from bot.faq.params import Params

KNOWLEDGE = Knowledge.from_entries([
    Entry(id="aid.seasonal", question="夏季防暑、冬季送暖活动怎么参加？",
          similar=("夏天送清凉在哪领东西", "冬天发不发防寒用品"), keywords=("夏送清凉", "冬送温暖"),
          answer="每年6月至9月开展夏送清凉，各暖心服务站免费供应冷饮和防暑药品；12月至次年2月开展冬送温暖，"
                 "发放手套、护膝等防寒用品。"),
    Entry(id="member.apply", question="怎样申请加入工会？", similar=("入会在哪里申请", "工会怎么加入"),
          keywords=("申请入会",), answer="在公众号服务大厅申请入会，填写信息后由工会审核。"),
    Entry(id="rights.pay", question="工资被拖欠怎么办？", similar=("公司不给结工资", "老板拖欠工资"),
          keywords=("拖欠工资", "欠薪"), answer="保存工资条和聊天记录，拨打12351申请工会协调。"),
])


def test_a_neighbour_in_meaning_sharing_no_key_word_is_not_suggested(semantic_model) -> None:
    """今天气温多少度 is about the weather: the heat-and-cold entry is its nearest in meaning and
    shares a character or two (气, 温), but no key word, so the honest outcome is none."""
    q = "今天气温多少度"
    info = Matcher(KNOWLEDGE, semantic=True).explain(q)
    assert info["candidates"][0]["id"] == "aid.seasonal"
    assert info["outcome"] == "none"
    # the floor is what turns it down: without it the agreement alone lets the entry through
    lenient = Matcher(KNOWLEDGE, Params(agree_none_meaning=0.0), semantic=True).explain(q)
    assert lenient["outcome"] != "none" and lenient["candidates"][0]["id"] == "aid.seasonal"
