"""GitHub Actions job summaries: with GITHUB_STEP_SUMMARY set, every command appends markdown
(the decision, the stages and their timings, the versions, any rollback), so a reviewer sees the
outcome on the run's page without opening the logs."""

import os
from typing import Any

from pipeline import gate
from pipeline.state import timeline

_ICON = {"ok": "✅", "failed": "❌", "refused": "⛔"}


def append(markdown: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(markdown.rstrip("\n") + "\n\n")


def table(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def promotion_markdown(record: dict[str, Any]) -> str:
    inputs = record.get("inputs", {})
    result = record.get("result", "?")
    icon = _ICON.get("refused" if record.get("exit_code") == 3 else result, "")
    lines = [
        f"### {icon} {record.get('command')} {inputs.get('env')} · "
        f"`{str(record.get('sha') or inputs.get('sha') or '')[:12]}` · {result}",
        "",
        str(record.get("message", "")),
        "",
    ]
    decision = record.get("decision")
    if decision:
        approval = decision.get("approval")
        approved = (
            f", approved by **{approval['approver']}**: {approval['reason']}" if approval else ""
        )
        # The gate's JSON holds one key per environment, valued with a level.
        levels = ", ".join(f"{k} `{v}`" for k, v in decision.items() if v in gate.LEVELS)
        lines.append(f"**Gate:** {levels}{approved}")
        lines.extend(f"- {reason}" for reason in decision.get("reasons", []))
        lines.append("")
    stages = [[_ICON.get(s["status"], s["status"]) + " " + s["name"], f"{s['seconds']:.1f}s",
               s.get("detail", "")] for s in record.get("stages", [])]  # fmt: skip
    lines += [table(["stage", "time", "detail"], stages), ""]
    chart = timeline.text_chart(record.get("stages", []))
    if chart:
        lines += ["```text", chart, "```", ""]
    versions = record.get("versions") or {}
    if versions:
        lines += [table(["function", "live version"], sorted(versions.items())), ""]
    rollback = record.get("rollback")
    if rollback:
        lines.append(
            f"**Rolled back** in {rollback['seconds']:.2f}s to "
            + ", ".join(f"{fn}:{v}" for fn, v in sorted(rollback["to"].items()))
        )
    return "\n".join(lines)


def append_run(record: dict[str, Any]) -> None:
    append(promotion_markdown(record))
