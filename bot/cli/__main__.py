"""``python -m bot.cli`` is ``unionbot``."""

from bot.cli import main

main()
