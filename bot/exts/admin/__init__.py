"""Server administration: /config, and the handler that answers every command error."""
