"""unionbot: a WeChat Official Account chatbot for a county federation of trade unions."""
