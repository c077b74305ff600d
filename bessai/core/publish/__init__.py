"""Publishers that drain the outbox to the cloud."""
