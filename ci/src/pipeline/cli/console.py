"""Human output: stage-by-stage progress with durations on stderr and a closing summary table.

Machine output (`--json`) goes to stdout and nothing else does, so it can be piped."""

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.state.stage_log import StageResult

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

_MARK = {
    "ok": "[green]✓[/]",
    "failed": "[red]✗[/]",
    "refused": "[yellow]⊘[/]",
}


def progress(name: str, result: StageResult | None) -> None:
    if result is None:
        err.print(f"[bold]▶ {name}[/] …")
        return
    line = f"{_MARK[result.status]} {name} [dim]{result.seconds:.1f}s[/]"
    if result.detail:
        line += f"  {escape(result.detail)}"
    err.print(line)
    if result.status == "failed" and result.log_tail:
        tail = "\n".join("    " + escape(line) for line in result.log_tail[-15:])
        err.print(f"[dim]{tail}[/]")


def summary(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = Table(title=title, title_justify="left")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(escape(str(value)) for value in row.values()))
    err.print(table)


def error(message: str) -> None:
    err.print(f"[red]error:[/] {escape(message)}")
