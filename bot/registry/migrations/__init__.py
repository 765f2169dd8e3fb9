"""Alembic migrations of the registry, packaged with ``bot`` so ``unionbot db upgrade`` finds them.

Configured in code (:func:`bot.registry.models.alembic_config`); there is no alembic.ini. To write a new
migration against a database at head::

    python -c "from alembic import command; from bot.registry.models import alembic_config; \\
        command.revision(alembic_config('sqlite:///unionbot.db'), 'what changed', autogenerate=True)"
"""
