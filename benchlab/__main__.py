"""``python -m benchlab`` runs the CLI."""

from benchlab.cli import main

main()
