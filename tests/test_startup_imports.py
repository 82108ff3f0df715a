"""What a web process loads at start (issue 16, memory): `create_app()` imports none of the libraries
that only some routes need. Each loads on its first use (tests/payments/test_first_use.py serves a
fresh process and uses them): httpx for outside payment services, the MCP stack, Babel and Jinja for
pages, argon2 for operator keys set by hand, webauthn for passkeys, segno for QR codes, alembic for
migrations, cryptography for sealing (the first placement's tracking link)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

LATE = {"httpx", "mcp", "babel", "jinja2", "argon2", "webauthn", "segno", "alembic", "cryptography", "stripe"}

CREATE_APP = """
import json, sys
from ordergate.app import create_app
from ordergate.settings import Settings
app = create_app(Settings(database_url=sys.argv[1], demo=True, var_dir=sys.argv[2]))
assert any(getattr(r, "path", None) == "/mcp" for r in app.routes)  # /mcp is served, built on first use
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_create_app_leaves_late_libraries_unloaded(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    done = subprocess.run(
        [sys.executable, "-c", CREATE_APP, url, str(tmp_path / "var")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert {"fastapi", "sqlalchemy", "pydantic", "ordergate"} <= loaded  # what the routes do need
    assert loaded & LATE == set()
