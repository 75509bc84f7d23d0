"""foxden: a self-hostable Fox ESS Cloud Open API server, fleet, client and command line."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
