"""The Redis store: conversation state, turns, locks, values, unanswered questions, the geo index.

Dependency rule: imports only bot.core.conversation (the State type).
"""
