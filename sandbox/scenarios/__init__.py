"""Scenario data files of the sandbox cloud (TOML), loaded by sandbox.scenario."""
