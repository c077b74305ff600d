"""The site as a plant: the one snapshot of every device and the site values safety reads."""
