"""wordfreq: event-driven word-frequency counting."""
