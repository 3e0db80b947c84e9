"""The ops console application: the `opsconsole` CLI, the Textual app, and the composition root."""
