"""`python -m console` runs the same entry point as the `opsconsole` script."""

from console.cli import main

main()
