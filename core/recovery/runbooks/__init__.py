"""The built-in runbooks, one TOML file per failure type (data; shipped with the package)."""
