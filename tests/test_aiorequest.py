"""The Bot API client's HTTP (bot.aiorequest): python-telegram-bot's request contract over
aiohttp — a slow answer is TimedOut (it may have reached Telegram), a refused connection a
NetworkError, and an upload's Chinese file name goes as UTF-8, not percent-encoded. The rest
of the suite runs every Bot API call of the bot through it against the emulator."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.aiorequest import AiohttpRequest

TOKEN = "123456:TEST"


async def _server(handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/bot"


async def test_a_slow_answer_is_timed_out_and_a_refused_connection_a_network_error():
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({"ok": True, "result": True})

    runner, base = await _server(slow)
    request = AiohttpRequest(read_timeout=0.3)
    bot = Bot(TOKEN, base_url=base, request=request, get_updates_request=AiohttpRequest())
    try:
        await request.initialize()
        with pytest.raises(TimedOut):
            await bot.send_message(chat_id=1, text="你好")
    finally:
        await request.shutdown()
        await runner.cleanup()
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    request = AiohttpRequest()
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request,
              get_updates_request=AiohttpRequest())
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as refused:
            await bot.send_message(chat_id=1, text="你好")
        assert not isinstance(refused.value, TimedOut)
    finally:
        await request.shutdown()


async def test_an_uploads_chinese_file_name_goes_as_utf8():
    seen: dict[str, str] = {}

    async def upload(request: web.Request) -> web.Response:
        async for part in await request.multipart():
            if part.filename:
                seen[part.name or ""] = part.filename
                await part.read()
            else:
                seen[part.name or ""] = await part.text()
        return web.json_response({"ok": True, "result": {
            "message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"},
            "document": {"file_id": "f", "file_unique_id": "u"}}})

    runner, base = await _server(upload)
    request = AiohttpRequest()
    bot = Bot(TOKEN, base_url=base, request=request, get_updates_request=AiohttpRequest())
    await request.initialize()
    try:
        name = "驻村工作台账-全县-11月30日至12月6日.xlsx"
        await bot.send_document(chat_id=1, document=b"PK\x03\x04", filename=name,
                                caption="本周台账")
    finally:
        await request.shutdown()
        await runner.cleanup()
    assert seen["document"] == "驻村工作台账-全县-11月30日至12月6日.xlsx"
    assert seen["caption"] == "本周台账"
