"""Settings and the site file."""
