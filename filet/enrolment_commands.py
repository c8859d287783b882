"""`filet households import FILE`: posts a household file to the enrolment API and follows the job."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.settings import Settings

CONTENT_TYPES = {".csv": "text/csv", ".jsonl": "application/x-ndjson", ".ndjson": "application/x-ndjson"}
FINISHED = ("completed", "failed", "rolled_back")


def _dev_token() -> str | None:
    """The operator token `filet up` wrote for development, if there is one."""
    path = Settings().data_dir / "dev-tokens.json"
    if not path.exists():
        return None
    tokens: dict[str, str] = json.loads(path.read_text())
    return next((token for name, token in tokens.items() if name.startswith("operator")), None)


def _chunks(path: Path, advance: Callable[[int], None], size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(size):
            advance(len(chunk))
            yield chunk


@click.group()
def households() -> None:
    """The household registry of the enrolment service."""


@households.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="all or nothing: one refused row and nothing is imported")
@click.option("--url", default="http://127.0.0.1:8001", show_default=True, help="the enrolment API")
@click.option("--token", help="an operator's bearer token (default: $FILET_TOKEN, then the dev token)")
def import_file(file: Path, strict: bool, url: str, token: str | None) -> None:
    """Import FILE (CSV, or JSON lines if it ends in .jsonl/.ndjson): upload, progress, then the summary."""
    token = token or os.environ.get("FILET_TOKEN") or _dev_token()
    if not token:
        raise click.UsageError("no token: pass --token, set FILET_TOKEN, or run `filet up` for dev tokens")
    content_type = CONTENT_TYPES.get(file.suffix.lower(), "text/csv")
    console = Console()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    with httpx.Client(base_url=url, timeout=httpx.Timeout(60, read=600)) as client:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            upload = progress.add_task("upload (bytes)", total=file.stat().st_size)
            answer = client.post(
                f"/v1/household-imports?strict={str(strict).lower()}",
                content=_chunks(file, lambda n: progress.advance(upload, n)),
                headers=headers,
            )
            if answer.status_code != 202:
                progress.stop()
                raise click.ClickException(_refusal(answer))
            job: dict[str, Any] = answer.json()
            rows = progress.add_task("import (rows)", total=job["rows_total"] or None)
            while job["status"] not in FINISHED:
                time.sleep(0.5)
                job = client.get(
                    f"/v1/household-imports/{job['id']}?limit=20&outcome=rejected",
                    headers={"Authorization": f"Bearer {token}"},
                ).json()
                progress.update(rows, completed=job["rows_done"])
        _summary(console, job)
    if job["status"] != "completed":
        raise SystemExit(1)


def _refusal(answer: httpx.Response) -> str:
    try:
        error = answer.json()["error"]
    except (ValueError, KeyError):
        return f"the API answered {answer.status_code}: {answer.text[:500]}"
    details = f" ({json.dumps(error['details'], ensure_ascii=False)})" if error.get("details") else ""
    return f"{answer.status_code} {error['code']}: {error['message']}{details}"


def _summary(console: Console, job: dict[str, Any]) -> None:
    console.print(f"import {job['id']}: [bold]{job['status']}[/bold]")
    table = Table(show_header=False)
    for label, key in (("rows", "rows_done"), ("accepted", "accepted"), ("rejected", "rejected")):
        table.add_row(label, f"{job[key]:,}")
    table.add_row("possible duplicates / already registered", f"{job['duplicates']:,}")
    console.print(table)
    if job.get("error"):
        console.print(f"[red]{job['error'].get('message')}[/red]")
    if job.get("rows"):
        refused = Table("row", "field", "reason", title="first refused rows")
        for row in job["rows"]:
            refused.add_row(str(row["row_number"]), row["field"] or "", row["reason"] or "")
        console.print(refused)
    console.print(f"report: GET /v1/household-imports/{job['id']}")
