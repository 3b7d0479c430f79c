"""Extensions, one feature per module; `bot.client.walk_extensions` loads them all."""
