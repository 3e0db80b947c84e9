"""Live health of each environment: observing it (observe.py) and recording its changes (record.py).

The judging rule is core.model.health's; this package only gathers the evidence and keeps the history.
"""
