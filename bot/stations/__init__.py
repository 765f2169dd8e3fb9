"""Worker stations: the directory (stations.yaml import, nearest station) and printable posters.

Dependency rule: imports only bot.registry and bot.storage; never handlers.
"""
