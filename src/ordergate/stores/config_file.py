"""Reading a store's TOML file: every error names the key and the line it is on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import ValidationError

from ordergate.stores.schemas import StoreConfig

HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$")
KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


class StoreFileError(ValueError):
    """A store file that cannot be loaded; the message says where and why."""


def key_line(text: str, loc: tuple[int | str, ...]) -> int:
    """The 1-based line of the key at `loc` (a Pydantic error location), or of its table's header."""
    lines = text.splitlines()
    sections: list[tuple[str, int | None, int]] = [("", None, 0)]  # (table, index in its array, header line)
    counts: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        header = HEADER.match(line)
        if header:
            name = header.group(2)
            index = None
            if header.group(1) == "[[":
                index = counts[name] = counts.get(name, -1) + 1
            sections.append((name, index, number))
    target: tuple[str, int | None] = ("", None)
    key_at = 0
    if loc and isinstance(loc[0], str) and any(name == loc[0] for name, _, _ in sections):
        if len(loc) > 1 and isinstance(loc[1], int):
            target, key_at = (loc[0], loc[1]), 2
        else:
            target, key_at = (loc[0], None), 1
    key = loc[key_at] if len(loc) > key_at and isinstance(loc[key_at], str) else None
    for position, (name, index, start) in enumerate(sections):
        if (name, index) != target:
            continue
        end = sections[position + 1][2] if position + 1 < len(sections) else len(lines) + 1
        for number in range(start + 1, end):
            found = KEY.match(lines[number - 1])
            if found and found.group(1) == key:
                return number
        return max(start, 1)
    return 1


def load_store_file(path: Path) -> StoreConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreFileError(f"{path}: cannot read it ({exc})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StoreFileError(f"{path}: not valid TOML: {exc}") from None
    try:
        return StoreConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
            problems.append(f"{path}:{key_line(text, loc)}: {key}: {error['msg']}")
        raise StoreFileError("\n".join(problems)) from None
