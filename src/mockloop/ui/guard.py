"""What Gradio's own routes leave open behind a login, closed in front of them (ASGI middleware).

With `launch(auth=...)`, Gradio checks the login on the page, the config, files and the API,
but answers `POST /gradio_api/cancel` and `POST /gradio_api/reset` to anyone, and `POST /login`
takes any number of wrong passwords. `LoginGuard` sits in front of the app:

- cancel and reset need the same login cookie the rest of the app does (401 without it);
- each client address gets `FREE_FAILURES` wrong passwords, then waits 1 s, 2 s, 4 s … (at most
  `MAX_WAIT_S`) after each further attempt before /login answers it again (429 with
  Retry-After; an attempt while told to wait counts too); a right password clears the count.

Leaves out: the login itself (Gradio's), and clients behind one proxy sharing an address.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

PROTECTED = ("/gradio_api/cancel", "/gradio_api/reset")
FREE_FAILURES = 5
MAX_WAIT_S = 300.0


class Backoff:
    """Wrong-password counts per client and how long each must wait before trying again."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._failures: dict[str, tuple[int, float]] = {}  # client → (count, time of the last)
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds this client must still wait; 0 when it may try."""
        with self._lock:
            count, last = self._failures.get(client, (0, 0.0))
        if count < FREE_FAILURES:
            return 0.0
        delay = min(2.0 ** (count - FREE_FAILURES), MAX_WAIT_S)
        return max(0.0, last + delay - self.clock())

    def failed(self, client: str) -> None:
        with self._lock:
            count, _ = self._failures.get(client, (0, 0.0))
            self._failures[client] = (count + 1, self.clock())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


class LoginGuard:
    """ASGI middleware; Gradio's FastAPI app is `scope["app"]` (its `auth`, `tokens`, cookie id)."""

    def __init__(self, app, backoff: Backoff | None = None):
        self.app = app
        self.backoff = backoff or Backoff()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST":
            return await self.app(scope, receive, send)
        web = scope.get("app")
        if getattr(web, "auth", None) is None:
            return await self.app(scope, receive, send)
        path = scope.get("path", "").rstrip("/")
        if path in PROTECTED and not _logged_in(scope, web):
            return await _reply(send, 401, {"detail": "Not authenticated"})
        if path != "/login":
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.backoff.wait(client)
        if wait > 0:
            self.backoff.failed(client)  # hammering while told to wait lengthens the wait
            wait = self.backoff.wait(client)
            return await _reply(
                send,
                429,
                {
                    "detail": f"Too many wrong passwords from this address; try again in {wait:.0f} s."
                },
                {"retry-after": str(max(1, round(wait)))},
            )

        async def watch(message):
            if message["type"] == "http.response.start":
                if message["status"] == 200:
                    self.backoff.succeeded(client)
                elif message["status"] in (400, 401):
                    self.backoff.failed(client)
            await send(message)

        return await self.app(scope, receive, watch)


def _logged_in(scope, web) -> bool:
    from starlette.requests import Request

    cookies = Request(scope).cookies
    cookie_id = getattr(web, "cookie_id", "")
    token = cookies.get(f"access-token-{cookie_id}") or cookies.get(
        f"access-token-unsecure-{cookie_id}"
    )
    return token is not None and token in getattr(web, "tokens", {})


async def _reply(send, status: int, body: dict, headers: dict | None = None) -> None:
    data = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


def middleware() -> list:
    """`launch(app_kwargs={"middleware": middleware()})`."""
    from starlette.middleware import Middleware

    return [Middleware(LoginGuard)]
