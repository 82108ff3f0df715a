"""SQL helpers both databases need: the dialect's INSERT (for ON CONFLICT), a statement's rowcount, and
rows written with Core in as few statements as the database allows (`Write`, `run_writes`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import groupby
from typing import Any

from sqlalchemy import CursorResult, Executable, Result, Table, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.dml import UpdateBase


def dialect_insert(dialect: str, table: Any) -> postgresql.Insert | sqlite.Insert:
    """`INSERT` in the named dialect, which is the one that has `on_conflict_do_*`
    (PostgreSQL's and SQLite's upserts are spelled alike but are different classes)."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def insert(session: AsyncSession, table: Any) -> postgresql.Insert | sqlite.Insert:
    """`INSERT` in the session's dialect: every upsert starts here."""
    return dialect_insert(session.get_bind().dialect.name, table)


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (the guard of a compare-and-set)."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


async def execute_counted(session: AsyncSession, statement: Executable) -> int:
    """Run an UPDATE or DELETE without syncing the session's objects; the rows it matched."""
    return rowcount(await session.execute(statement.execution_options(synchronize_session=False)))


@dataclass(frozen=True)
class Write:
    """One row written with Core, outside any session's unit of work: an INSERT of `values` into
    `table` (ON CONFLICT DO NOTHING with `skip_conflicts`), or, with `where`, an UPDATE setting
    `values` on the rows whose columns equal `where`'s."""

    table: Table
    values: dict[str, Any]
    where: dict[str, Any] | None = None
    skip_conflicts: bool = False

    def shape(self) -> tuple[object, ...]:
        where = None if self.where is None else tuple(self.where)
        return (self.table.name, tuple(self.values), where, self.skip_conflicts)

    def params(self, prefix: str) -> dict[str, Any]:
        params = {f"{prefix}{k}": v for k, v in self.values.items()}
        params.update({f"{prefix}where_{k}": v for k, v in (self.where or {}).items()})
        return params

    def statement(self, dialect: str, prefix: str) -> UpdateBase:
        """The statement for every write of this shape; `params(prefix)` fills it (the parameters
        never carry a column's own name, which Core would read as one more value to SET)."""
        c = self.table.c
        values = {k: bindparam(f"{prefix}{k}", type_=c[k].type) for k in self.values}
        if self.where is not None:
            match = [c[k] == bindparam(f"{prefix}where_{k}", type_=c[k].type) for k in self.where]
            return update(self.table).where(*match).values(values)
        stmt = dialect_insert(dialect, self.table).values(values)
        return stmt.on_conflict_do_nothing() if self.skip_conflicts else stmt


# Statements by the shapes they write: built (and compiled, by SQLAlchemy's cache) once per shape.
_BUILT: dict[tuple[object, ...], UpdateBase] = {}


def _built(key: tuple[object, ...], build: Callable[[], UpdateBase]) -> UpdateBase:
    stmt = _BUILT.get(key)
    if stmt is None:
        if len(_BUILT) > 512:  # shapes are few (rows per table); never grow without bound
            _BUILT.clear()
        stmt = _BUILT[key] = build()
    return stmt


async def run_writes(conn: AsyncConnection, writes: Sequence[Write]) -> None:
    """Run `writes` in order, in the connection's transaction. On PostgreSQL, when no two of them
    go to the same table, they are one statement: each write but the last a data-modifying CTE of
    the last (one round trip; foreign keys are checked at the statement's end). Sibling CTEs run in
    no set order, so rows of one table (an order's lines, ids in the buyer's order) and every write
    on SQLite go as one statement per run of writes of the same shape (executemany), in order."""
    if not writes:
        return
    dialect = conn.dialect.name
    if dialect == "postgresql" and len({w.table.name for w in writes}) == len(writes):

        def bundle() -> UpdateBase:
            *ahead, last = [w.statement(dialect, f"p{n}_") for n, w in enumerate(writes)]
            return last.add_cte(*(part.cte(f"w{n}") for n, part in enumerate(ahead)))

        stmt = _built(("bundle", dialect, *(w.shape() for w in writes)), bundle)
        params: dict[str, Any] = {}
        for n, write in enumerate(writes):
            params.update(write.params(f"p{n}_"))
        await conn.execute(stmt, params)
        return
    for shape, group in groupby(writes, key=Write.shape):
        rows = list(group)
        stmt = _built(("each", dialect, shape), partial(rows[0].statement, dialect, "v_"))
        await conn.execute(stmt, [w.params("v_") for w in rows])
