"""The FAQ: the knowledge staff edit (knowledge.py) and the matcher, one module per concept:
text.py (normalisation and character classes), repair.py (pinyin and typo repair), index.py
(the term index), scope.py (out-of-scope detectors), decision.py with decision.json (the fitted
answer decision), params.py (tunable weights), matcher.py (scoring, Matcher, explain) and
semantic.py (the optional meaning signal).

Dependency rule: imports nothing of ours outside bot.faq; text.py imports nothing of ours at all,
and is the only module of bot.faq that handlers may import.
"""
