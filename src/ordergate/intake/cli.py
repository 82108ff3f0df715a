"""`ordergate intake`: import CSV files, look at the quarantine, replay, map SKUs, count."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.audit.service import Actor
from ordergate.cli_support import err, out
from ordergate.cli_support import fail as _fail
from ordergate.cli_support import run_with_database as _run
from ordergate.intake import flow, mappings, quarantine, receive
from ordergate.intake.adapters.base import Envelope
from ordergate.intake.adapters.csv import CsvFileError, Group, read_groups
from ordergate.intake.models import HELD, QUARANTINED
from ordergate.intake.schemas import BulkReplayIn, ReplayIn, SkuMappingIn
from ordergate.intake.sources import find_source
from ordergate.settings import Settings
from ordergate.stores.service import get_store

intake_app = typer.Typer(
    help="Order intake: import CSV files, the quarantine, replay, SKU mappings, counts.", no_args_is_help=True
)
T = TypeVar("T")
Store = Annotated[str, typer.Option(help="Store slug")]


def _issues_text(issues: list[Any]) -> str:
    return " | ".join(f"{i.rule} ({i.owner}, {i.severity}) {i.field}: {i.message}" for i in issues)


def report_path(file: Path) -> Path:
    return file.with_name(f"{file.stem}.report.csv")


def _write_report(report: Path, results: list[tuple[Group, flow.Result]]) -> None:
    """One line per CSV row with its order's outcome."""
    try:
        with report.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["row", "external_id", "status", "intake_id", "order", "issues"])
            for group, result in results:
                status = "held" if result.status == HELD else result.status
                for row in group.rows:
                    writer.writerow(
                        [
                            row,
                            group.external_id,
                            status,
                            result.payload.public_id,
                            result.order_number or "",
                            _issues_text(result.issues),
                        ]
                    )
    except OSError as exc:
        raise _fail(f"cannot write {report}: {exc.strerror}") from None


def _print_summary(title: str, results: list[tuple[Group, flow.Result]]) -> None:
    by_status: Counter[str] = Counter()
    rows_by_status: Counter[str] = Counter()
    by_rule: Counter[tuple[str, str, str]] = Counter()
    for group, result in results:
        by_status[result.status] += 1
        rows_by_status[result.status] += len(group.rows)
        for issue in result.issues:
            by_rule[(issue.rule, issue.owner, issue.severity)] += 1
    summary = Table(title=title)
    for column in ("status", "orders", "rows"):
        summary.add_column(column, justify="left" if column == "status" else "right")
    for status, n in sorted(by_status.items()):
        summary.add_row(status, str(n), str(rows_by_status[status]))
    out.print(summary)
    if by_rule:
        rules = Table(title="issues by rule")
        for column in ("rule", "owner", "severity", "orders"):
            rules.add_column(column, justify="right" if column == "orders" else "left")
        for (rule, owner, severity), n in sorted(by_rule.items()):
            rules.add_row(rule, owner, severity, str(n))
        out.print(rules)


@intake_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="CSV file, one row per order line", dir_okay=False)],
    source: Annotated[str, typer.Option(help="The csv source to import through")],
) -> None:
    """Import a CSV file: each order (rows sharing an external_id) goes through the intake flow in
    its own transaction. Writes FILE.report.csv beside it, one line per row with its outcome."""
    try:
        groups = read_groups(file.read_bytes())
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from None
    except CsvFileError as exc:
        raise _fail(f"{file}: {exc}") from None
    rows_total = sum(len(g.rows) for g in groups)

    async def work(maker: async_sessionmaker[AsyncSession]) -> list[tuple[Group, flow.Result]]:
        async with maker() as session:
            channel, store = await find_source(session, source)
        if channel.kind != "csv":
            raise _fail(f"source {source} takes {channel.kind} deliveries over HTTP, not CSV files")
        results = []
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            task = progress.add_task(f"importing {file.name}", total=rows_total)
            for group in groups:
                envelope = Envelope(
                    topic="csv",
                    headers={"file": file.name[:200], "rows": f"{group.rows[0]}-{group.rows[-1]}"},
                )
                async with maker() as session, session.begin():
                    result = await receive.take(
                        session,
                        channel,
                        store,
                        envelope=envelope,
                        body=group.text.encode(),
                        content_type="text/csv",
                        actor="cli import",
                    )
                results.append((group, result))
                progress.advance(task, len(group.rows))
        return results

    results = _run(work)
    report = report_path(file)
    _write_report(report, results)
    _print_summary(f"{file.name}: {len(results)} orders, {rows_total} rows", results)
    out.print(f"report: {report}", highlight=False, soft_wrap=True)


@intake_app.command("quarantine")
def show_quarantine(
    store: Store = "demo",
    source: Annotated[str | None, typer.Option(help="Only this source")] = None,
    rule: Annotated[str | None, typer.Option(help="Only payloads failing this rule")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """List quarantined and held payloads with every failed rule and its owner."""

    async def work(maker: async_sessionmaker[AsyncSession]) -> Any:
        async with maker() as session:
            shop = await get_store(session, store)
            return await quarantine.list_payloads(
                session, shop, statuses=(QUARANTINED, HELD), source=source, rule=rule, limit=limit
            )

    listing = _run(work)
    table = Table(title=f"{store}: {len(listing.items)} waiting")
    for column in ("intake id", "source", "external id", "status", "received", "issues"):
        table.add_column(column)
    for p in listing.items:
        table.add_row(
            p.intake_id,
            p.source,
            p.external_id or "",
            p.status,
            p.received_at.strftime("%Y-%m-%d %H:%M"),
            "\n".join(f"{i.rule} ({i.owner}) {i.field}: {i.message}" for i in p.issues),
        )
    out.print(table)


@intake_app.command("replay")
def replay(
    intake_id: Annotated[str | None, typer.Argument(help="The payload to replay (omit with --all)")] = None,
    store: Store = "demo",
    payload: Annotated[
        Path | None, typer.Option(help="A corrected body: a JSON file, or CSV text for csv sources")
    ] = None,
    note: Annotated[str, typer.Option(help="Why (kept with the attempt)")] = "",
    all_: Annotated[bool, typer.Option("--all", help="Replay every quarantined payload")] = False,
    source: Annotated[str | None, typer.Option(help="With --all: only this source")] = None,
    rule: Annotated[str | None, typer.Option(help="With --all: only payloads failing this rule")] = None,
) -> None:
    """Run quarantined payloads through the flow again (idempotent: settled ones are left alone)."""
    if all_ == (intake_id is not None):
        raise _fail("give one INTAKE_ID, or --all")
    corrected: Any = None
    if payload is not None:
        try:
            raw = payload.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"cannot read {payload}: {exc}") from None
        try:
            corrected = json.loads(raw) if payload.suffix.lower() == ".json" else raw
        except json.JSONDecodeError as exc:
            raise _fail(f"{payload}: not JSON: {exc}") from None

    async def work(maker: async_sessionmaker[AsyncSession]) -> list[Any]:
        async with maker() as session, session.begin():
            shop = await get_store(session, store)
            if all_:
                bulk = await quarantine.replay_many(
                    session,
                    shop,
                    BulkReplayIn(source=source, rule=rule, limit=1000),
                    actor=Actor.system("cli"),
                )
                return list(bulk.items)
            data = ReplayIn(payload=corrected, note=note) if corrected is not None else ReplayIn(note=note)
            assert intake_id is not None
            return [await quarantine.replay(session, shop, intake_id, data, actor=Actor.system("cli"))]

    for item in _run(work):
        state = "held" if item.held else item.status
        done = "" if item.replayed else " (already settled: nothing done)"
        order = f" order {item.order_id}" if item.order_id else ""
        out.print(f"{item.intake_id}: {state}{order}{done}", highlight=False)
        for issue in item.issues:
            out.print(
                f"  {issue.rule} ({issue.owner}, {issue.severity}) {issue.field}: {issue.message}",
                highlight=False,
            )


@intake_app.command("map")
def map_sku(
    source: Annotated[str, typer.Argument(help="Source id")],
    external_sku: Annotated[str, typer.Argument(help="The SKU as the channel sends it (or variant:<id>)")],
    sku: Annotated[str, typer.Argument(help="Our SKU")],
    store: Store = "demo",
) -> None:
    """Map a channel's SKU to one of ours (then replay what was quarantined for it)."""

    async def work(maker: async_sessionmaker[AsyncSession]) -> None:
        async with maker() as session, session.begin():
            shop = await get_store(session, store)
            await mappings.put_mapping(
                session,
                shop,
                source,
                SkuMappingIn(external_sku=external_sku, sku=sku),
                actor=Actor.system("cli"),
            )

    _run(work)
    out.print(f"{source}: {external_sku} -> {sku}", highlight=False)


@intake_app.command("stats")
def stats(store: Store = "demo") -> None:
    """Payloads per source and status, and issues per rule and owner."""

    async def work(maker: async_sessionmaker[AsyncSession]) -> Any:
        async with maker() as session:
            return await quarantine.stats(session, await get_store(session, store))

    counts = _run(work)
    statuses = sorted({s for src in counts.sources for s in src.counts})
    sources = Table(title=f"{store}: payloads by source")
    for column in ("source", "kind", "owner", *statuses):
        sources.add_column(column, justify="right" if column in statuses else "left")
    for src in counts.sources:
        sources.add_row(src.source, src.kind, src.owner, *(str(src.counts.get(s, 0)) for s in statuses))
    out.print(sources)
    rules = Table(title="issues by rule")
    for column in ("rule", "owner", "severity", "open", "total"):
        rules.add_column(column, justify="right" if column in ("open", "total") else "left")
    for r in counts.rules:
        rules.add_row(r.rule, r.owner, r.severity, str(r.open), str(r.total))
    out.print(rules)


async def load_demo_sources(
    session: AsyncSession, store: Any, configs: list[Any], *, settings: Settings, console: Console
) -> None:
    """`ordergate demo`: load the store file's intake sources; a secret generated now is shown once."""
    from ordergate.intake.sources import load_sources

    loaded = await load_sources(session, store, configs, settings=settings)
    if not loaded:
        return
    names = ", ".join(source.key for source, _ in loaded)
    shown: set[str] = set()
    for source, generated in loaded:
        if generated and generated not in shown:
            shown.add(generated)
            console.print(
                f"intake sources {names}: signing secret (shown once, keep it):",
                highlight=False,
                soft_wrap=True,
            )
            console.print(f"  {source.secret_env or source.key}={generated}", highlight=False, soft_wrap=True)
    if not shown:
        envs = sorted({s.secret_env for s, _ in loaded if s.secret_env})
        where = f"the one in {', '.join(envs)}" if envs else "as configured"
        console.print(f"intake sources {names}: signing secret {where}", highlight=False, soft_wrap=True)
