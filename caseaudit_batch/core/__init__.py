"""What every stage shares: configuration, the clock, the framework, the register (schema, lock, migrations),
audit IDs, the message catalogue, errors, staged outputs, notices and the screen."""
