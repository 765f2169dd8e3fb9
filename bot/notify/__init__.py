"""Notifications: messages the bot starts. Outcomes of applications, alerts to staff and notices to
members go through one outbox (``bot.registry.notices``) and one sender (:mod:`.outbox`): a template
message, else a customer-service message, else shown before the person's next reply
(:mod:`.waiting`). Staff decisions and the outcome notices they carry: :mod:`.decisions` (shell),
:mod:`.outcomes` (pure drafts).

Dependency rule: the application layer over the registry, the store and the WeChat API client; used
by the webhook, the console and the CLI; never imports handlers or the web layer.
"""
