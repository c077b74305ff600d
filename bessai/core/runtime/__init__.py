"""The event bus, the domain events it carries, periodic tasks and heap housekeeping."""
