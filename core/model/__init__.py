"""The console's pure model: data and the decisions on it, no I/O; import each module directly (core.model.plan)."""
