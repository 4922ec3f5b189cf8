"""Print the table of docs/columns.md (Markdown) from scalinglab.metrics, the one source.

    python scripts/metrics_table.py > /tmp/table.md

tests/test_readme_snippets.py checks that docs/columns.md holds exactly this table.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from scalinglab.metrics import METRICS  # noqa: E402


def metrics_table() -> str:
    """One Markdown row per registered metric: column, unit (the label), meaning."""
    lines = ["| column | unit / label | meaning |", "|---|---|---|"]
    for metric in METRICS.values():
        direction = "" if metric.lower_is_better else " Higher is better."
        lines.append(f"| `{metric.name}` | {metric.label} | {metric.description}{direction} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(metrics_table())
