"""The web app: REST API under /api/v1, health and metrics."""

from hub.web.app import create_app

__all__ = ["create_app"]
