"""The member registry: SQLAlchemy models, the Registry, and its Alembic migrations.

Dependency rule: imports only bot.signup (ID encryption and masking); never handlers, the
store, the FAQ or WeChat.
"""
