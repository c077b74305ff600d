"""What the site shows outside: HTTP, /health, /metrics, tracing, logs, the console."""
