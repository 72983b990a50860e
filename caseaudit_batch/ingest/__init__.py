"""Ingest: the inboxes' files, the validation rules, what is recorded, and the notices a run makes."""
