"""Buyer pages (storefront, checkout, tracking): mounted on the app; built out with the page issue."""

from __future__ import annotations

from fastapi import FastAPI

from ordergate.settings import Settings


def mount_pages(app: FastAPI, settings: Settings) -> None:
    """Pages come with the buyer-pages work; the API stands on its own without them."""
    return None
