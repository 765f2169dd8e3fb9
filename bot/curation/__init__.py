"""Curation: unanswered questions become answers. Staff attach a question to an entry, write a new
entry, or mark it out of scope; the YAML is edited (``bot.faq.editing``), the marks and history are
kept (``bot.storage.curation``), and the knowledge is published to every host.

Dependency rule: the application layer between the FAQ and the store: may import bot.faq and
bot.storage; used by the CLI and the console; never imports handlers or the web layer.
"""
