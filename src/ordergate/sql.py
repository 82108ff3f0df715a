"""SQL helpers both databases need: the dialect's INSERT (for ON CONFLICT) and a statement's rowcount."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Executable, Result
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert(session: AsyncSession, table: Any) -> postgresql.Insert | sqlite.Insert:
    """`INSERT` in the session's dialect, which is the one that has `on_conflict_do_*`
    (PostgreSQL's and SQLite's upserts are spelled alike but are different classes)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (the guard of a compare-and-set)."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


async def execute_counted(session: AsyncSession, statement: Executable) -> int:
    """Run an UPDATE or DELETE without syncing the session's objects; the rows it matched."""
    return rowcount(await session.execute(statement.execution_options(synchronize_session=False)))
