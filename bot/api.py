"""The read-only HTTP API under /api/v1 (bearer token): the same queries as the chat."""

from __future__ import annotations

from fastapi import APIRouter

from bot.context import AppContext


def routes(router: APIRouter, ctx: AppContext) -> None:
    """Add the API's routes."""
