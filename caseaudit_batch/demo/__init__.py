"""The demo: a synthetic authority, its auditors' answers, and the player that runs the real commands."""
