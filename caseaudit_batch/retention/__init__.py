"""Retention: purging months older than the register keeps."""
