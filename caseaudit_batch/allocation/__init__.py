"""Allocation: the roster and caseload, the seeded choice of cases, and the allocate, reassign and remind commands."""
