"""Intent handlers: each one pure, (state, message, context) -> outcome."""
