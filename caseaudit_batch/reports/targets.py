"""The report targets: the configured ``[targets]`` and the action RAG thresholds (``[actions]``) the figures are
judged against."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Targets:
    """Configured targets (``[targets]``) and the action RAG thresholds (``[actions]``)."""

    good_or_better: float = 0.80
    ri_or_better: float = 0.95
    inadequate_at_most: float = 0.05
    green_at_least: float = 0.90
    amber_at_least: float = 0.75
