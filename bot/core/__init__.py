"""The conversation core: the types every handler speaks (conversation.py), the router that takes
a message through the handlers (router.py) and the effects run once the new state is saved (effects.py).

Dependency rule: conversation.py imports nothing of ours; router.py is the only module of bot
that imports handlers.
"""
