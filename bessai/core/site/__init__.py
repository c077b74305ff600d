"""The site assembled: the gateway, site administration, commissioning, the instance lock."""
