"""The staff console at /admin: server-rendered pages in Chinese for the union's office staff.

Every page needs a login (except the login page and static files); every POST needs the session's
CSRF token; each action checks the account's role and is written to an audit trail.

Dependency rule: shell (the web layer): may import any of bot, never handlers. ``base`` holds the
blueprint and what every page shares; each other module adds its routes to it.
"""

from bot.web.admin import account, auth, curation, members, pages, review, stations  # noqa: F401  (their routes)
from bot.web.admin.base import bp, init_app

__all__ = ["bp", "init_app"]
