"""The staff roster and the caseload: their published headers and roles.

Loading and checking them (row, column and fix for every problem) arrives with the allocation stage.
"""

from __future__ import annotations

ROSTER_HEADERS = (
    "Staff ID",
    "Name",
    "Email",
    "Role",
    "Team",
    "Service",
    "Line manager ID",
    "Audit status",
    "Paused until",
    "Pause reason",
)

CASELOAD_HEADERS = (
    "Case reference",
    "Case type",
    "Service",
    "Team",
    "Social worker ID",
    "Team manager ID",
    "Allocated to current worker on",
    "Previous social worker ID",
    "CP coordinator / IRO ID",
    "Case opened on",
)

FROM_FILE_HEADERS = ("Staff ID", "Case reference")

# Guidance section 2: these roles undertake one audit a month.
AUDITING_ROLES = (
    "Team Manager",
    "Practice Supervisor",
    "Service Manager",
    "Principal Social Worker",
    "Head of Service",
    "Assistant Director",
    "Strategic Director",
)
NON_AUDITING_ROLES = (
    "Social Worker",
    "Child Protection Coordinator",
    "Independent Reviewing Officer",
    "QA Officer",
)
ALL_ROLES = AUDITING_ROLES + NON_AUDITING_ROLES
AUDIT_STATUSES = ("Active", "Paused", "Left")
CASE_TYPES = ("CIN", "CP", "CLA", "Care leaver")
