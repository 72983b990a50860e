"""Moderation: the sampling policy, the moderation form, its ingest, the register and the measures."""
