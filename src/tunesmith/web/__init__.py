"""`tunesmith serve`: the tune workshop in a browser (needs the `web` extra: fastapi, uvicorn)."""

from tunesmith.web.app import create_app

__all__ = ["create_app"]
