"""Intent handlers: each one pure, (state, message, context) -> outcome.

Dependency rule: handlers import only the core (bot.core), the signup validators and masking
(bot.signup) and the FAQ text helpers (bot.faq.text), besides each other; only
bot/core/router.py imports them.
"""
