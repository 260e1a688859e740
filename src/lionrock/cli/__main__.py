"""``python -m lionrock.cli`` runs the command line (used by tests that need a real process)."""

from lionrock.cli.main import main

main()
