"""BotApiEmulator: an aiohttp server on loopback that plays the Telegram Bot API and its users."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from . import service
from .faults import FailRate, Faults, RateLimiter, api_error, is_send_method
from .methods import HANDLERS, ApiError, Disconnect
from .records import Request, Sent, Upload
from .spec import SPEC_PATH, ApiSpec, MethodSpec, Validator, load_spec
from .updates import UpdateQueue
from .users import EmuUser, command_entities
from .world import World, scope_key

MAX_UPLOAD = 50 * 1024 * 1024  # Telegram's limit for bot uploads
SHUTDOWN_TIMEOUT = 1.0


@functools.cache
def validator_for(path: str) -> Validator:
    """One validator per spec file per process (the spec itself is cached too)."""
    return Validator(load_spec(path))


async def read_params(request: web.Request) -> dict[str, Any]:
    """Parameters from the query string and a JSON, urlencoded or multipart body."""
    params: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.content_type == "application/json":
        body = await request.text()
        decoded = json.loads(body) if body.strip() else {}
        if not isinstance(decoded, dict):
            raise ValueError("the JSON body must be an object")
        params.update(decoded)
    elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                uploads[key] = Upload(value.filename, value.file.read(), value.content_type)
            else:
                params[key] = value
    return _attach(params, uploads)


def _attach(params: dict[str, Any], uploads: dict[str, Upload]) -> dict[str, Any]:
    """Put file parts where they belong: "attach://name" values, else their own field name."""
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in uploads:
            params[key] = uploads.pop(value[9:])
    serialized = json.dumps({k: v for k, v in params.items() if isinstance(v, str)})
    for name, upload in uploads.items():
        if f"attach://{name}" not in serialized:  # referenced inside JSON (InputMedia): skip
            params[name] = upload
    return params


def _drop_connection(request: web.Request) -> web.Response:
    """Close the socket without an answer: python-telegram-bot raises NetworkError."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=502)


class BotApiEmulator:
    """A Telegram Bot API on 127.0.0.1 for a real python-telegram-bot Application."""

    def __init__(self, token: str = "123456:TEST-TOKEN", bot_username: str = "grassroots_test_bot",
                 bot_first_name: str = "Grassroots", spec_path: str = str(SPEC_PATH)) -> None:
        self.token = token
        self.spec: ApiSpec = load_spec(spec_path)
        self.validator = validator_for(spec_path)
        bot_id = int(token.split(":", 1)[0])
        self.world = World(bot={"id": bot_id, "is_bot": True, "first_name": bot_first_name,
                                "username": bot_username})
        self.updates = UpdateQueue()
        self.faults = Faults()
        self.limiter: RateLimiter | None = None
        self.violations: list[str] = []
        self.errors: list[str] = []  # every non-2xx answer, violation or not
        self.requests: list[Request] = []
        self.sent: list[Sent] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.documents: list[tuple[int | str, str, bytes, dict[str, Any]]] = []
        self.count_429 = 0
        self.count_paid = 0  # sends delivered on the paid broadcast lane
        # The bot's Telegram Stars in tenths (a paid send costs 0.1 Star); None: never runs out.
        self.star_tenths: int | None = None
        # Seconds each request waits before it is handled: the network between bot and Telegram.
        self.round_trip = 0.0
        self.stopping = False
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._users: dict[int, EmuUser] = {}
        self._busy = 0

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port."""
        app = web.Application(client_max_size=MAX_UPLOAD)
        app.router.add_route("*", "/bot{token:[^/]+}/{method:[^/]+}", self._handle)
        app.router.add_get("/file/bot{token:[^/]+}/{path:.+}", self._serve_file)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True,
                                     shutdown_timeout=SHUTDOWN_TIMEOUT)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Release long polls and close the server."""
        self.stopping = True
        self.updates.wake()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What python-telegram-bot's base_url= wants."""
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        """What python-telegram-bot's base_file_url= wants."""
        return f"{self.base_url}/file/bot"

    # --- users and updates -------------------------------------------------------------

    def user(self, user_id: int, first_name: str = "Test", language_code: str | None = "en",
             username: str | None = None, last_name: str | None = None) -> EmuUser:
        """A user with a private chat (chat id == user id); the same id again replaces it."""
        user = EmuUser(self, user_id, first_name, last_name, username, language_code)
        self._users[user_id] = user
        self.world.users[user_id] = user.json
        return user

    def group_message(self, chat_id: int, user: EmuUser | int, text: str,
                      title: str | None = None) -> int:
        """A text message from `user` in a group (negative chat id)."""
        member = user if isinstance(user, EmuUser) else self._users.get(user) or self.user(user)
        self.world.groups.setdefault(chat_id, title or f"Group {chat_id}")
        message = self.world.new_message(chat_id, member.json, text=text,
                                         entities=command_entities(text))
        return self.push_update({"message": message})

    def push_update(self, raw: dict[str, Any]) -> int:
        """Queue any update; the emulator assigns the (monotonic) update_id."""
        return self.updates.push(raw)

    def redeliver(self, update_id: int) -> None:
        """Queue an already delivered update again with the same update_id."""
        self.updates.redeliver(update_id)

    # --- faults --------------------------------------------------------------------------

    def rate_limit(self, global_per_sec: int = 30, per_chat_per_sec: float = 1,
                   group_per_min: int = 20, retry_after: int = 1, burst: float = 3,
                   paid_per_sec: int = 1000) -> None:
        """Answer 429 to sends over Telegram's limits (see RateLimiter for the model)."""
        self.limiter = RateLimiter(global_per_sec, per_chat_per_sec, group_per_min,
                                   retry_after, burst, paid_per_sec)

    def stars(self, balance: float | None) -> None:
        """Give the bot this many Stars for paid broadcasts (None: as many as it sends); a
        paid send beyond them is refused as Telegram refuses it, 400 BALANCE_TOO_LOW."""
        self.star_tenths = None if balance is None else round(balance * 10)

    def no_rate_limit(self) -> None:
        """Turn rate limiting off again."""
        self.limiter = None

    def network(self, round_trip: float) -> None:
        """Answer every request `round_trip` seconds late, as a Bot API across a network does."""
        self.round_trip = round_trip

    def fail_rate(self, status: int = 502, fraction: float = 0.05,
                  methods: set[str] | None = frozenset({"sendMessage"}),
                  seed: int = 0) -> None:
        """Fail a deterministic share of requests to `methods` (None: all) with `status`."""
        chosen = frozenset(methods) if methods is not None else None
        self.faults.rate = FailRate(status, fraction, chosen, seed) if fraction > 0 else None

    def fail_next(self, method: str, status: int, count: int = 1,
                  retry_after: int | None = None, chat_id: int | None = None) -> None:
        """Answer the next `count` requests to `method` (to `chat_id` only, if given) with
        `status`; a test aiming at one chat then does not depend on what else is sending."""
        queue = self.faults.next.setdefault((method, chat_id), deque())
        queue.extend([(status, retry_after)] * count)

    def hold(self, method: str, chat_id: int) -> asyncio.Event:
        """Leave every request to `method` for `chat_id` unanswered until the returned event is
        set: a Bot API slow for one chat."""
        released = self.faults.held[(method, chat_id)] = asyncio.Event()
        return released

    def down(self) -> None:
        """Drop every connection (and pending long polls) until up()."""
        self.faults.is_down = True
        self.updates.wake()

    def up(self) -> None:
        """Answer requests again."""
        self.faults.is_down = False

    def blocked_by(self, chat_id: int) -> None:
        """The user blocked the bot: sends to the chat answer 403."""
        self.faults.blocked.add(chat_id)

    def unblocked_by(self, chat_id: int) -> None:
        """The user unblocked the bot."""
        self.faults.blocked.discard(chat_id)

    # --- inspection ----------------------------------------------------------------------

    def sent_to(self, chat_id: int | str) -> list[Sent]:
        """Messages sent or edited in one chat, in order."""
        return [s for s in self.sent if s.chat_id == chat_id]

    @property
    def commands(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """Stored commands by (normalised scope JSON, language_code)."""
        return self.world.commands

    def commands_for(self, scope: dict[str, Any] | None = None,
                     language_code: str = "") -> list[dict[str, Any]]:
        """The commands set for exactly this scope and language ([] if none)."""
        return self.world.commands.get((scope_key(scope), language_code), [])

    async def wait_for(self, predicate: Callable[[], Any], within: float = 5.0) -> Any:
        """Poll `predicate` until it returns something truthy; TimeoutError otherwise."""
        deadline = time.monotonic() + within
        while not (result := predicate()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {within}s; violations: "
                                   f"{self.violations}; errors: {self.errors[-5:]}")
            await asyncio.sleep(0.01)
        return result

    async def wait_sent(self, chat_id: int | str | None = None, count: int = 1,
                        within: float = 5.0) -> list[Sent]:
        """Wait until at least `count` messages were sent (to `chat_id`); return them all."""
        def enough() -> list[Sent] | None:
            found = self.sent if chat_id is None else self.sent_to(chat_id)
            return list(found) if len(found) >= count else None
        return await self.wait_for(enough, within)

    async def wait_idle(self, quiet: float = 0.2, within: float = 5.0) -> None:
        """Wait until every update was fetched and no other request came for `quiet` s."""
        def idle() -> bool:
            fetched = all(u["update_id"] in self.updates.delivered for u in self.updates.pending)
            busy = [r for r in self.requests if r.method != "getUpdates"]
            last = busy[-1].at if busy else 0.0
            return fetched and not self._busy and time.monotonic() - last >= quiet
        await self.wait_for(idle, within)

    # --- the HTTP side -------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        record = Request(request.match_info["method"], {}, time.monotonic())
        self.requests.append(record)
        if self.round_trip:
            await asyncio.sleep(self.round_trip)
        if self.faults.is_down:
            return _drop_connection(request)  # status stays 0: no answer
        # Long polls do not make the bot busy; everything else does until answered.
        busy = 0 if record.method == "getUpdates" else 1
        self._busy += busy
        try:
            response = await self._respond(request, record)
        except Disconnect:
            return _drop_connection(request)
        except asyncio.CancelledError:
            record.status = 499  # the client went away (e.g. a cancelled long poll)
            raise
        finally:
            self._busy -= busy
        record.status = response.status
        if response.status >= 400:
            self.errors.append(f"{record.method} -> {response.status} {response.text[:200]}")
        return response

    def _violation(self, method: str, param: str, message: str) -> None:
        where = f"{method}({param})" if param else method
        self.violations.append(f"{where}: {message}")

    async def _respond(self, request: web.Request, record: Request) -> web.Response:
        try:
            record.params = await read_params(request)
        except ValueError as exc:
            self._violation(record.method, "", f"unreadable request body: {exc}")
            return api_error(400, f"Bad Request: {exc}")
        if request.match_info["token"] != self.token:
            self._violation(record.method, "", "wrong bot token")
            return api_error(401, "Unauthorized")
        method = self.spec.method(record.method)
        if method is None:
            self._violation(record.method, "", "method not in the Bot API spec")
            return api_error(404, "Not Found: method not found")
        record.method = method.name
        record.params, problems = self.validator.check_call(method, record.params)
        for problem in problems:
            self._violation(method.name, problem.path, problem.message)
        if problems:
            return api_error(400, f"Bad Request: {problems[0].message}")
        held = self.faults.held.get((method.name, record.params.get("chat_id")))
        if held is not None:
            await held.wait()
        refusal = self._refusal(method.name, record.params)
        if refusal is not None:
            return refusal
        return await self._run(method, record.params)

    def _refusal(self, method: str, params: dict[str, Any]) -> web.Response | None:
        """Injected failures, blocked chats and rate limits: the message is not delivered."""
        chat_id = params.get("chat_id")
        response = self.faults.take(method, chat_id)
        if response is None and chat_id in self.faults.blocked and (
                is_send_method(method) or method == "sendChatAction"):
            response = api_error(403, "Forbidden: bot was blocked by the user")
        paid = params.get("allow_paid_broadcast") is True and is_send_method(method)
        if response is None and paid and self.star_tenths is not None and self.star_tenths < 1:
            response = api_error(400, "Bad Request: BALANCE_TOO_LOW")
        if response is None and self.limiter is not None and is_send_method(method):
            wait = self.limiter.check(chat_id, time.monotonic(), paid=paid)
            if wait is not None:
                response = api_error(429, f"Too Many Requests: retry after {wait}", wait)
        if response is not None and response.status == 429:
            self.count_429 += 1
        if response is None and paid:
            self.count_paid += 1
            if self.star_tenths is not None:
                self.star_tenths -= 1
        return response

    async def _run(self, method: MethodSpec, params: dict[str, Any]) -> web.Response:
        handler = HANDLERS.get(method.name)
        try:
            if handler is None:
                result = await service.generic(self, params, method)
            else:
                result = await handler(self, params)
        except ApiError as exc:
            if exc.violation:
                self._violation(method.name, exc.param, exc.detail)
            return api_error(exc.status, exc.description)
        return web.json_response({"ok": True, "result": result})

    async def _serve_file(self, request: web.Request) -> web.Response:
        if self.faults.is_down:
            return _drop_connection(request)
        stored = self.world.file_by_path(request.match_info["path"])
        if request.match_info["token"] != self.token or stored is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=stored.content,
                            content_type=stored.mime_type or "application/octet-stream")
