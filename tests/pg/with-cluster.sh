#!/usr/bin/env bash
# Run a command (the test suite) with a throwaway PostgreSQL cluster, unless one is given already
# (CASEAUDIT_TEST_POSTGRES, as .ci/run gives it). Where PostgreSQL cannot start, the command still runs: the
# PostgreSQL tests then skip with the reason (or fail, under CASEAUDIT_REQUIRE_POSTGRES=1).
set -uo pipefail
here=$(dirname "$0")
if [ -z "${CASEAUDIT_TEST_POSTGRES:-}" ]; then
  if started=$("$here/cluster.sh" start); then
    eval "$started"
    trap '"$here/cluster.sh" stop "$CASEAUDIT_PG_DIR"' EXIT
    echo "PostgreSQL: a throwaway cluster in $CASEAUDIT_PG_DIR for the tests"
  fi
fi
"$@"
