"""The report's section "Pretrained or from scratch?" ([transfer]; Hernandez et al. 2021, "Scaling
Laws for Transfer"): the sentences of analysis.transfer, the quality of every mode per size and
data size, the training FLOPs of every start with and without its pretraining, and the effective
data transferred with its intervals."""

from __future__ import annotations

from scalinglab.analysis.transfer import TransferAnswer
from scalinglab.report.parts import Section, table_html


def transfer_section(answer: TransferAnswer) -> Section:
    section = Section("Pretrained or from scratch?", list(answer.sentences))
    section.tables.append(
        ("Quality per model size, data size and start (seed means, std, runs)", table_html(answer.quality))
    )
    if answer.compute is not None:
        section.tables.append(
            (
                "Training FLOPs per model size and data size (seed means): each start alone, and with its "
                "pretraining counted in full (paid once per size, shared by its target runs)",
                table_html(answer.compute),
            )
        )
    for mode, points in answer.points.items():
        if not points.empty:
            section.tables.append(
                (
                    f"Effective data transferred, {mode} (D_T = D_equivalent - D_F from the scratch "
                    "runs' data law of each size; –: no such law at that size (fewer than 3 scratch data "
                    "sizes) or a loss beyond its floor)",
                    table_html(points),
                )
            )
    return section
