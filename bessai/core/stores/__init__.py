"""What the gateway keeps on disk: SQLite helpers, history, outbox, audit trail, users."""
