"""STYLE.md: no file under src/ grows past 400 lines; a longer one is split by use case."""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_LINES = 400


def _line_counts(root: Path) -> dict[str, int]:
    counts = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # images and other binaries have no lines to count
        counts[str(path.relative_to(root))] = len(text.splitlines())
    return counts


def test_no_source_file_is_longer_than_400_lines() -> None:
    counts = _line_counts(SRC)
    assert len(counts) > 100  # the tree was found: this walks the real source
    too_long = {name: n for name, n in counts.items() if n > MAX_LINES}
    assert too_long == {}, "split these by use case: " + ", ".join(
        f"{name} ({n} lines)" for name, n in too_long.items()
    )


def test_the_check_counts_lines(tmp_path: Path) -> None:
    (tmp_path / "short.py").write_text("x = 1\n" * MAX_LINES)
    (tmp_path / "long.html").write_text("<p>\n" * (MAX_LINES + 1))
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "cached.py").write_text("\n" * (MAX_LINES + 1))
    counts = _line_counts(tmp_path)
    assert counts == {"long.html": MAX_LINES + 1, "short.py": MAX_LINES}
    assert [name for name, n in counts.items() if n > MAX_LINES] == ["long.html"]
