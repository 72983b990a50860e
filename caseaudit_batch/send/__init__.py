"""``caseaudit send``: the outbox by mail (issue 22)."""
