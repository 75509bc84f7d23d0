"""``python -m foxden`` runs the command line."""

from foxden.cli.main import main

main()
