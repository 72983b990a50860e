"""The report tiers (issue 19): ``internal``, the documents with case references, managers' names and quotations,
and ``committee``, the version for papers that are made public. Apart so that the command line can offer them
without loading the report writers."""

from __future__ import annotations

INTERNAL, COMMITTEE = "internal", "committee"
#: ``report --tier``, in the order their files are written.
TIERS = (INTERNAL, COMMITTEE)
