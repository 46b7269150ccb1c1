"""The kiosk's local web server (aiohttp): pages, a small JSON API and a live event stream.

aiohttp serves the static pages, the JSON API and Server-Sent Events from one asyncio loop in
a background thread, so the node's transport keeps its own thread. Blocking calls into the
backend (the dialog model, routing services) run in a small thread pool.

Two credentials. The staff pages and their API (teller actions, fraud alerts) always need
the *staff* token, on loopback too, since the customer page runs on the same host: a
tablet's customer can reach anything the page can. Everything else needs the customer
token when one is set (required off loopback). Either is given as ``?token=`` /
``?staff=`` once (then an HttpOnly same-site cookie) or ``Authorization: Bearer``; the
staff token also opens the customer pages (the teller page reads the settings).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from .backend import KioskBackend, KioskError

STATIC_DIR = Path(__file__).resolve().parent / "static"
COOKIE = "lobbybot_kiosk"
STAFF_COOKIE = "lobbybot_staff"
MAX_BODY_BYTES = 16 * 1024
MAX_AUDIO_BYTES = 4 * 1024 * 1024  # push-to-talk: ~20 s of 48 kHz 16-bit mono WAV
KEEPALIVE_S = 15.0
PAGES = {"/": "kiosk.html", "/board": "board.html", "/teller": "teller.html",
         "/manager": "manager.html"}
STAFF_PATHS = frozenset({"/teller", "/manager", "/api/teller", "/api/alerts",
                         "/api/staff/events"})
SIGN_IN = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>工作人员登录 · Staff sign-in</title><link rel="stylesheet" href="/static/style.css">
</head><body class="teller"><main><form method="get" class="sign-in">
<label>工作人员口令 / Staff token <input name="staff" type="password" autocomplete="off"
required></label><button class="primary" type="submit">登录 / Sign in</button></form></main>
</body></html>"""
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "media-src 'self' blob:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

log = logging.getLogger("lobbybot/kiosk/web")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status,
                             dumps=lambda d: json.dumps(d, ensure_ascii=False))


def _matches(supplied: str, secret: str) -> bool:
    return bool(supplied) and hmac.compare_digest(supplied.encode(), secret.encode())


def build_app(backend: KioskBackend, token: str = "", staff_token: str = "") -> web.Application:
    """The aiohttp application: pages, JSON API, event streams.

    ``staff_token`` guards the staff pages and API; without one they answer 403 to all."""
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kiosk-api")

    async def blocking(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    @web.middleware
    async def guard(request: web.Request, handler: Callable) -> web.StreamResponse:
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        staff = bool(staff_token) and any(_matches(s, staff_token) for s in (
            request.query.get("staff", ""), request.cookies.get(STAFF_COOKIE, ""), bearer))
        if request.path in STAFF_PATHS and not staff:
            if not staff_token:
                return web.Response(status=403, text="staff pages are off on this kiosk")
            if request.method == "GET" and request.path in PAGES:
                return web.Response(status=401, text=SIGN_IN, content_type="text/html",
                                    headers=SECURITY_HEADERS)
            return _json({"error": "staff credential missing or wrong"}, status=401)
        if token and not staff and not any(_matches(s, token) for s in (
                request.query.get("token", ""), request.cookies.get(COOKIE, ""), bearer)):
            return web.Response(status=401, text="kiosk token missing or wrong")
        response = await handler(request)
        if not response.prepared:
            response.headers.update(SECURITY_HEADERS)
            if token and _matches(request.query.get("token", ""), token):
                response.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
            if staff and _matches(request.query.get("staff", ""), staff_token):
                response.set_cookie(STAFF_COOKIE, staff_token, httponly=True,
                                    samesite="Strict")
        return response

    async def body(request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if len(raw) > MAX_BODY_BYTES:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY_BYTES, actual_size=len(raw))
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise KioskError("request body is not JSON") from None
        if not isinstance(data, dict):
            raise KioskError("request body must be a JSON object")
        for key, value in data.items():
            if not isinstance(value, str):
                raise KioskError(f"field {key!r} must be a string")
        return data

    def api(fn: Callable[[dict[str, Any]], Any]) -> Callable:
        async def handle(request: web.Request) -> web.Response:
            try:
                data = await body(request)
                return _json(await blocking(fn, data))
            except KioskError as exc:
                return _json({"error": str(exc)}, status=400)
            except web.HTTPRequestEntityTooLarge:
                return _json({"error": f"request body larger than {MAX_BODY_BYTES} bytes"},
                             status=413)
        return handle

    async def hear(request: web.Request) -> web.Response:
        """Push-to-talk: the raw WAV recording in the body, ``?session=``."""
        try:
            audio = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _json({"error": f"recording larger than {MAX_AUDIO_BYTES} bytes"}, 413)
        try:
            return _json(await blocking(backend.hear, request.query.get("session", ""), audio))
        except KioskError as exc:
            return _json({"error": str(exc)}, status=400)

    async def page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / PAGES[request.path])

    async def get_settings(_request: web.Request) -> web.Response:
        return _json({**backend.settings(), **backend.status()})

    async def get_board(_request: web.Request) -> web.Response:
        return _json(backend.board())

    async def get_alerts(_request: web.Request) -> web.Response:
        return _json({"alerts": backend.alerts()})

    async def customer_events(request: web.Request) -> web.StreamResponse:
        return await events(request, staff=False)

    async def staff_events(request: web.Request) -> web.StreamResponse:
        return await events(request, staff=True)

    async def events(request: web.Request, staff: bool) -> web.StreamResponse:
        """Server-Sent Events: ``status`` (routing up/down) and ``board``, as they change;
        on the staff stream also ``alert`` (the recent ones first, then each new one)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(maxsize=64)

        def put(item: tuple[str, dict[str, Any]]) -> None:
            if queue.full():  # a slow page gets the newest state, not a backlog
                queue.get_nowait()
            queue.put_nowait(item)

        def listener(kind: str, payload: dict[str, Any]) -> None:
            with contextlib.suppress(RuntimeError):  # loop closed while shutting down
                loop.call_soon_threadsafe(put, (kind, payload))

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-store"})
        await response.prepare(request)
        backend.add_listener(listener, staff=staff)
        try:
            put(("status", backend.status()))
            put(("board", backend.board()))
            for alert in reversed(backend.alerts()) if staff else ():
                put(("alert", alert))
            while True:
                try:
                    kind, payload = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
                data = json.dumps(payload, ensure_ascii=False)
                await response.write(f"event: {kind}\ndata: {data}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            backend.remove_listener(listener)
        return response

    app = web.Application(middlewares=[guard], client_max_size=MAX_AUDIO_BYTES)
    for path in PAGES:
        app.router.add_get(path, page)
    app.router.add_static("/static/", STATIC_DIR, show_index=False)
    app.router.add_get("/api/settings", get_settings)
    app.router.add_get("/api/board", get_board)
    app.router.add_get("/api/events", customer_events)
    app.router.add_get("/api/staff/events", staff_events)
    app.router.add_get("/api/alerts", get_alerts)
    app.router.add_post("/api/start", api(lambda d: backend.start(d.get("language", "zh"))))
    app.router.add_post("/api/say", api(lambda d: backend.say(d.get("session", ""),
                                                              d.get("text", ""))))
    app.router.add_post("/api/listen", hear)
    app.router.add_post("/api/choose", api(lambda d: backend.choose(
        d.get("session", ""), d.get("service", ""), d.get("language", "zh"),
        d.get("request_id", ""))))
    app.router.add_post("/api/teller", api(lambda d: backend.teller(
        d.get("action", ""), d.get("counter", ""), d.get("ticket", ""))))
    app.on_cleanup.append(lambda _app: _shutdown_pool(pool))
    return app


async def _shutdown_pool(pool: ThreadPoolExecutor) -> None:
    pool.shutdown(wait=False, cancel_futures=True)


class WebServer:
    """Runs the app on its own asyncio loop in a daemon thread."""

    def __init__(self, app: web.Application, host: str, port: int):
        self.app = app
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="kiosk-web",
                                        daemon=True)

    def start(self) -> str:
        """Bind and serve; returns the URL (with the real port when ``port`` was 0)."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        try:
            future.result(10)
        except OSError as exc:
            self.stop()
            raise OSError(f"cannot serve the kiosk UI on {self.host}:{self.port}: "
                          f"{exc.strerror or exc}") from None
        return f"http://{self.host}:{self.port}/"

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        if self._runner is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
