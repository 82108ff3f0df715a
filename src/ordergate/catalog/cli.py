"""`ordergate catalog`: products and stock in and out as CSV, and the catalog as store-file TOML."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.audit.service import Actor
from ordergate.catalog.admin_schemas import RowOutcome
from ordergate.catalog.config import export_toml
from ordergate.catalog.transfer import CsvProblem, export_csv, import_row, read_rows
from ordergate.cli_support import err, out
from ordergate.cli_support import fail as _fail
from ordergate.cli_support import run_with_database as _run
from ordergate.stores.service import get_store

catalog_app = typer.Typer(help="The catalog: CSV import and export of products and stock, TOML export.")
StoreSlug = Annotated[str, typer.Option("--store", help="Store slug")]
CLI_ACTOR = Actor.system("cli import")


def report_path(file: Path) -> Path:
    return file.with_name(f"{file.stem}.report.csv")


@catalog_app.command("import")
def import_file(
    file: Annotated[
        Path, typer.Argument(help="CSV: sku,name,price,description,image_url,status,on_hand,...")
    ],
    store: StoreSlug = "demo",
) -> None:
    """Create or update one product per row (each row its own transaction: a refused row changes
    nothing and the others go on). Blank cells leave a product's value as it is; on_hand is the
    counted stock, written to the stock ledger. Writes FILE.report.csv with each row's outcome."""
    try:
        rows = read_rows(file.read_bytes())
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from None
    except CsvProblem as exc:
        raise _fail(f"{file}: {exc}") from None

    async def work(maker: async_sessionmaker[AsyncSession]) -> list[RowOutcome]:
        async with maker() as session:
            shop = await get_store(session, store)
        outcomes = []
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            task = progress.add_task(f"importing {file.name}", total=len(rows))
            for line, cells in rows:
                async with maker() as session:
                    outcome = await import_row(session, shop, line, cells, actor=CLI_ACTOR)
                    await (session.rollback() if outcome.outcome == "error" else session.commit())
                outcomes.append(outcome)
                progress.advance(task)
        return outcomes

    outcomes = _run(work)
    report = report_path(file)
    try:
        with report.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["row", "sku", "outcome", "errors"])
            for o in outcomes:
                writer.writerow([o.row, o.sku, o.outcome, " | ".join(o.errors)])
    except OSError as exc:
        raise _fail(f"cannot write {report}: {exc.strerror}") from None
    counts = Counter(o.outcome for o in outcomes)
    summary = Table(title=f"{file.name}: {len(outcomes)} rows")
    summary.add_column("outcome")
    summary.add_column("rows", justify="right")
    for outcome in ("created", "updated", "unchanged", "error"):
        summary.add_row(outcome, str(counts.get(outcome, 0)))
    out.print(summary)
    refused = [o for o in outcomes if o.outcome == "error"]
    if refused:
        table = Table(title="refused rows")
        for column in ("row", "sku", "why"):
            table.add_column(column)
        for o in refused[:50]:
            table.add_row(str(o.row), o.sku, "\n".join(o.errors))
        out.print(table)
    out.print(f"report: {report}", highlight=False, soft_wrap=True)
    if refused:
        raise typer.Exit(2)


@catalog_app.command("export")
def export_file(
    file: Annotated[Path, typer.Argument(help="Where to write the CSV ('-' for stdout)")],
    store: StoreSlug = "demo",
    toml: Annotated[
        bool, typer.Option("--toml", help="Write [[products]] tables for the store file")
    ] = False,
) -> None:
    """Every product (archived too) with its counted stock, as the CSV `import` reads back, or with
    --toml as the store file's [[products]] tables."""

    async def work(maker: async_sessionmaker[AsyncSession]) -> str:
        async with maker() as session:
            shop = await get_store(session, store)
            return await (export_toml(session, shop) if toml else export_csv(session, shop))

    text = _run(work)
    if str(file) == "-":
        typer.echo(text, nl=False)
        return
    try:
        file.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise _fail(f"cannot write {file}: {exc.strerror}") from None
    err.print(f"wrote {file}", highlight=False, soft_wrap=True)
