"""unionbot: a WeChat Official Account chatbot for a county federation of trade unions.

Dependency rule: config.py imports nothing of ours; services.py is the composition root that
builds the shell's parts from the config; each subpackage's ``__init__`` states its own rule.
"""
