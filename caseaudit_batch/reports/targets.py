"""The report targets: the configured ``[targets]`` and the action RAG thresholds (``[actions]``) the figures are
judged against, and the settings that say when a figure is final or restated (issue 20)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Targets:
    """Configured targets (``[targets]``) and the action RAG thresholds (``[actions]``)."""

    good_or_better: float = 0.80
    #: issue 20: audit completion (on time) and moderation agreement targets.
    completion: float = 0.95
    moderation_agreement: float = 0.80
    ri_or_better: float = 0.95
    inadequate_at_most: float = 0.05
    green_at_least: float = 0.90
    amber_at_least: float = 0.75
    #: issue 20 (``[actions] tracker_cycle_days``): action measures stay provisional this long after the month ends.
    #: Carried here because the report builder passes one ``Targets`` to the figures.
    tracker_cycle_days: int = 31
    #: issue 20 (``[reports] restate_margin_points``): an earlier month's headline restated beyond this many points.
    restate_margin_points: float = 5.0
    #: issue 22 (``[moderation] escalation_working_days``): an escalation is due this many working days after it.
    escalation_working_days: int = 10
