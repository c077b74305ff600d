"""The cloud side: Pub/Sub publishing, topic checks and setup, the fleet view."""
