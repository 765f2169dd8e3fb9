"""WeChat's side of the wire: the protocol (signature, AES, XML, reply rendering), the outgoing
API with its shared access token, and a simulator of WeChat for `unionbot chat`, tests and benchmarks.

Dependency rule: imports only bot.config, bot.core.conversation and bot.storage (the shared
token); never handlers, the FAQ or the registry.
"""
