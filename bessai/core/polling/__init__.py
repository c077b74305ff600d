"""Per-device pollers: the scheduler that reads each device at its own interval."""
