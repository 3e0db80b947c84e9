"""Pure data and the decisions on it, no I/O: what the engine, the CLI and the screens all ask."""
