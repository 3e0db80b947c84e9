"""The engine of the ops console: configuration, registry, plans, providers. Never imports the TUI."""
