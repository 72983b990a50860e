"""Entry point: ``python run_monthly.py COMMAND ...`` is the same as ``caseaudit COMMAND ...``."""

from caseaudit_batch.cli import run

if __name__ == "__main__":
    run()
