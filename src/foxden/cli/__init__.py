"""The ``foxden`` command."""
