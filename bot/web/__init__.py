"""The Flask app and the /wechat webhook: the shell around the router.

Dependency rule: the outermost layer with the CLI; it may import any of bot but never handlers
(the router does), and only the CLI imports it.
"""
