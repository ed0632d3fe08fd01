"""The security middleware: bounded request bodies, JSON-only API posts, and the headers
(content security policy and the rest) on every answer."""

from __future__ import annotations

import json
from collections.abc import Callable

from tunesmith.web.schema import MAX_ABC, MAX_BODY

# The page's own policy: scripts only from this server, so a hostile tune title cannot run code.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "media-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
API_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"  # an SVG opened on its own runs nothing
DOCS_PATHS = ("/docs", "/static-offline-docs")  # Swagger UI's page has an inline script of its own


# ---------------------------------------------------------------- middleware


class Guard:
    """Plain ASGI middleware: request bodies over max_body get 413, API posts must be JSON,
    and every response carries the security headers."""

    def __init__(self, app: Callable, max_body: int = MAX_BODY):
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        send = self._with_headers(scope["path"], send)
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["path"].startswith("/api/") and "json" not in headers.get("content-type", ""):
            return await _reply(send, 415, "content-type: send the request body as application/json")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            return await _reply(send, 413, self._too_large(int(declared)))
        body, more = b"", True
        while more:  # read it all here (it is small) so a body without a length is bounded too
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:
                return await _reply(send, 413, self._too_large(len(body), at_least=True))
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    def _too_large(self, size: int, at_least: bool = False) -> str:
        return (f"body: the request is {'over ' if at_least else ''}{size:,} bytes; "
                f"the limit is {self.max_body:,} bytes ({MAX_ABC:,} characters of ABC)")

    @staticmethod
    def _with_headers(path: str, send: Callable) -> Callable:
        if path.startswith(DOCS_PATHS):
            return send
        policy = (API_CSP if path.startswith("/api/") else PAGE_CSP).encode()

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"content-security-policy", policy),
                                      (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
            await send(message)

        return sending


async def _reply(send: Callable, status: int, error: str) -> None:
    body = json.dumps({"error": error, "field": error.split(":")[0]}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
