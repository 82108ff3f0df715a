"""Outcomes of a delivery attempt other than success."""

from __future__ import annotations


class Undeliverable(Exception):
    """The provider refused this message for good (a bad address, rejected content): no retry."""


class NothingToSend(Exception):
    """Nothing to tell any more (the order was paid before its reminder went out; no order matched
    a lost-link request): the message is closed as skipped."""
