"""The explore web server: a Starlette app on uvicorn, guarded by a token, over an ExploreSession.

Security model (docs/explore.md):

* it binds 127.0.0.1 unless told otherwise;
* every request must carry the session's random token (``secrets.token_urlsafe``): the page's
  address has it as ``?token=``; the page then sends it in the ``X-Gaia-Stim-Token`` header, and
  the first answer sets it as a cookie (HttpOnly, SameSite=Strict) so images load. A request
  without it gets 403. Tokens are compared with :func:`hmac.compare_digest`;
* the page, its script and style ship in the package; a Content-Security-Policy lets it load
  nothing from elsewhere;
* image paths are checked by :mod:`gaia_stim.explore.files` (inside the folder, no links out),
  uploads are decoded before they are kept, exports stay inside the output root.

Every call that touches the model runs on one worker thread, one at a time. Live frames are
coalesced: each page sends its frames with a sequence number; while a frame is being decoded,
newer requests wait, and when the worker is free only the newest of them is decoded; the older
ones are answered at once with 204 (superseded).
"""

import asyncio
import concurrent.futures
import contextlib
import functools
import hmac
import json
import logging
import os
import secrets
import socket
import threading
import time
import traceback
import urllib.parse
import warnings
from collections import OrderedDict

from gaia_stim.core.errors import GaiaStimError, InputError, OutputExistsError, describe_os_error
from gaia_stim.explore.files import MAX_UPLOAD_BYTES, PathRefused
from gaia_stim.explore.state import parse_spec

__all__ = ["TOKEN_HEADER", "Coalescer", "create_app", "serve", "running_server", "address"]

logger = logging.getLogger(__name__)

TOKEN_HEADER = "x-gaia-stim-token"
TOKEN_QUERY = "token"
COOKIE_PREFIX = "gaia_stim_token_"
STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
# Requests with a JSON body larger than this are refused (a spec is a few hundred bytes).
MAX_JSON_BYTES = 64 * 1024
_SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:;"
                                 b" connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


# --------------------------------------------------------------------------------------------
# the token


def _given_tokens(scope):
    """Every token a request carries: the query's, the header's, and this server's cookie."""
    given = []
    query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
    given += query.get(TOKEN_QUERY, [])
    cookie_name = _cookie_name(scope)
    for name, value in scope.get("headers", []):
        if name == TOKEN_HEADER.encode():
            given.append(value.decode("latin-1"))
        elif name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, text = part.strip().partition("=")
                if key == cookie_name:
                    given.append(text)
    return given


def _cookie_name(scope):
    """One cookie per port: cookies ignore ports, and two servers may run side by side."""
    server = scope.get("server") or ("", 0)
    return f"{COOKIE_PREFIX}{server[1] or 0}"


class TokenGuard:
    """ASGI middleware: 403 for any request without the token; security headers on every answer."""

    def __init__(self, app, token):
        self.app, self._token = app, token.encode("latin-1")

    def _valid(self, scope):
        return any(hmac.compare_digest(text.encode("latin-1", "replace"), self._token) for text in _given_tokens(scope))

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, send)
        if scope["type"] != "http":
            return  # no websockets
        if not self._valid(scope):
            body = json.dumps({"error": "this gaia-stim explore session needs its token: open the address the"
                                        " command printed (it ends in ?token=...)"}).encode()
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"application/json"), *_SECURITY_HEADERS]})
            await send({"type": "http.response.body", "body": body})
            return

        cookie = (f"{_cookie_name(scope)}={self._token.decode()}; HttpOnly; SameSite=Strict; Path=/").encode()

        async def guarded_send(message):
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS, (b"set-cookie", cookie)]
            await send(message)

        await self.app(scope, receive, guarded_send)


# --------------------------------------------------------------------------------------------
# coalescing live frames


class Coalescer:
    """One decode at a time; of the requests that waited, only each channel's newest is decoded.

    Parameters
    ----------
    run : coroutine function
        ``await run(job)`` runs ``job()`` on the model's worker and returns its result.
    """

    def __init__(self, run, channels=64):
        self._run = run
        self._latest = OrderedDict()
        self._channels = channels
        self._lock = None

    async def submit(self, channel, seq, job):
        """``job()``'s result, or None if a newer request of ``channel`` arrived before it ran."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        if seq <= self._latest.get(channel, -1):
            return None
        self._latest[channel] = seq
        self._latest.move_to_end(channel)
        while len(self._latest) > self._channels:
            self._latest.popitem(last=False)
        async with self._lock:
            if self._latest.get(channel) != seq:
                return None
            return await self._run(job)


# --------------------------------------------------------------------------------------------
# the app


def _error(status, message):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": str(message).splitlines()[0] if message else "error"}, status_code=status)


def _answers_errors(handler):
    """Every exception an endpoint meets becomes one JSON line ``{"error": ...}`` and a status."""

    @functools.wraps(handler)
    async def wrapper(request):
        try:
            return await handler(request)
        except PathRefused as error:
            return _error(error.status, error)
        except OutputExistsError as error:
            return _error(409, error)
        except GaiaStimError as error:
            return _error(400, error)
        except OSError as error:
            return _error(500, describe_os_error(error))
        except Exception as error:  # noqa: BLE001 -- the one place server errors become answers
            logger.error("explore: %s", traceback.format_exc())
            return _error(500, f"internal error ({type(error).__name__}: {error}); this is a bug in gaia-stim:"
                               " please report the server's log")

    return wrapper


async def _json_body(request):
    body = await request.body()
    if len(body) > MAX_JSON_BYTES:
        raise InputError(f"the request is {len(body)} bytes, more than {MAX_JSON_BYTES}; send a view, not data")
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        raise InputError("the request body is not JSON") from None
    if not isinstance(value, dict):
        raise InputError("the request body must be a JSON object")
    return value


def _with_warnings(job):
    """Run ``job`` and return its result and the gaia-stim warnings it raised (one line each)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = job()
    lines = [str(item.message) for item in caught if type(item.message).__module__.startswith("gaia_stim")]
    return value, list(dict.fromkeys(lines))


def create_app(session, token, executor=None):
    """The Starlette app of one explore session, guarded by ``token``.

    Parameters
    ----------
    session : ExploreSession
    token : str
        What every request must carry (query ``token``, header ``X-Gaia-Stim-Token`` or the cookie).
    executor : concurrent.futures.Executor, optional
        Where model work runs; default: one worker thread (model work is never concurrent).
    """
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    executor = executor or concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gaia-stim-model")

    async def on_worker(job):
        return await asyncio.get_running_loop().run_in_executor(executor, job)

    coalescer = Coalescer(on_worker)

    async def index(request):
        return FileResponse(os.path.join(STATIC, "index.html"), media_type="text/html")

    @_answers_errors
    async def state(request):
        return JSONResponse(await on_worker(session.state))

    @_answers_errors
    async def images(request):
        return JSONResponse(await run_in_threadpool(session.list_images))

    @_answers_errors
    async def thumbnail(request):
        image = request.query_params.get("image")
        data = await run_in_threadpool(session.thumbnail, image)
        return Response(data, media_type="image/png")

    @_answers_errors
    async def upload(request):
        name = urllib.parse.unquote(request.headers.get("x-filename", "upload"))
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
            return _error(413, f"upload {name!r} is {int(declared) / 2**20:.1f} MiB, more than the"
                               f" {MAX_UPLOAD_BYTES // 2**20} MiB accepted; shrink it")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                return _error(413, f"upload {name!r} is more than the {MAX_UPLOAD_BYTES // 2**20} MiB accepted;"
                                   " shrink it")
            chunks.append(chunk)
        image = await run_in_threadpool(session.upload, name, b"".join(chunks))
        return JSONResponse({"image": image})

    def _spec(body):
        return parse_spec(body.get("spec"), session.axes)

    @_answers_errors
    async def view(request):
        body = await _json_body(request)
        answer, lines = await on_worker(lambda: _with_warnings(lambda: session.view(_spec(body))))
        return JSONResponse({**answer, "warnings": lines})

    @_answers_errors
    async def frame(request):
        received = time.perf_counter()
        body = await _json_body(request)
        seq, client = body.get("seq", 0), str(body.get("client", ""))[:64]
        if isinstance(seq, bool) or not isinstance(seq, int):
            raise InputError(f"seq must be a whole number; got {seq!r}")
        spec = parse_spec(body.get("spec"), session.axes)
        answer = await coalescer.submit(f"{client}:{spec['kind']}", seq,
                                        lambda: session.frame(spec, body.get("position")))
        headers = {"x-gaia-stim-seq": str(seq)}
        if answer is None:
            return Response(status_code=204, headers=headers)
        data, info = answer
        info["server_ms"] = round((time.perf_counter() - received) * 1000, 2)
        headers["x-gaia-stim-info"] = json.dumps(info, ensure_ascii=True)
        return Response(data, media_type="image/png", headers=headers)

    @_answers_errors
    async def steps(request):
        body = await _json_body(request)
        answer, lines = await on_worker(lambda: _with_warnings(lambda: session.steps(_spec(body))))
        return JSONResponse({**answer, "warnings": lines})

    @_answers_errors
    async def export(request):
        body = await _json_body(request)
        out = body.get("out")
        force = body.get("force", False)
        if not isinstance(force, bool):
            raise InputError(f"force must be true or false; got {force!r}")
        answer, lines = await on_worker(lambda: _with_warnings(lambda: session.export(_spec(body), out, force)))
        return JSONResponse({**answer, "warnings": lines})

    async def no_icon(request):
        return Response(status_code=204)

    routes = [
        Route("/", index),
        Route("/favicon.ico", no_icon),
        Route("/api/state", state),
        Route("/api/images", images),
        Route("/api/thumb", thumbnail),
        Route("/api/upload", upload, methods=["POST"]),
        Route("/api/view", view, methods=["POST"]),
        Route("/api/frame", frame, methods=["POST"]),
        Route("/api/steps", steps, methods=["POST"]),
        Route("/api/export", export, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC)),
    ]
    return TokenGuard(Starlette(routes=routes), token)


# --------------------------------------------------------------------------------------------
# running it


def address(host, port, token):
    """The page's address with its token."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?{TOKEN_QUERY}={token}"


def _bound_socket(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so, and without it a
    # response's body waits for the client's delayed ACK of its headers (40 ms a frame on Linux)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port} ({error.strerror or error}); choose another --port (0 picks"
                         " a free one) or --host") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _uvicorn_server(app):
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


def serve(session, host="127.0.0.1", port=0, open_browser=True, token=None, announce=print):
    """Serve the explore page until interrupted.

    Parameters
    ----------
    session : ExploreSession
    host : str, default="127.0.0.1"
    port : int, default=0
        0: a free port.
    open_browser : bool, default=True
        Open the page with :mod:`webbrowser` (only where there is a display).
    token : str, optional
        Default: a new ``secrets.token_urlsafe(32)``.
    announce : callable, default=print
        Told the address (one line), and how to stop.
    """
    token = token or secrets.token_urlsafe(32)
    sock = _bound_socket(host, port)
    url = address(host, sock.getsockname()[1], token)
    server = _uvicorn_server(create_app(session, token))
    announce(f"gaia-stim explore is serving {url}")
    announce("open that address in a browser on this machine; press Ctrl-C to stop")
    if open_browser and _has_display():
        import webbrowser

        threading.Timer(0.5, webbrowser.open, [url]).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def _has_display():
    import sys

    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@contextlib.contextmanager
def running_server(session, host="127.0.0.1", port=0, token=None):
    """The explore server in a background thread (tests, benchmarks); yields its address with the token.

    Examples
    --------
    >>> with running_server(session) as url:  # doctest: +SKIP
    ...     urllib.request.urlopen(url).status
    200
    """
    token = token or secrets.token_urlsafe(32)
    sock = _bound_socket(host, port)
    server = _uvicorn_server(create_app(session, token))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="gaia-stim-explore")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the explore server did not start")
        time.sleep(0.01)
    try:
        yield address(host, sock.getsockname()[1], token)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
