"""The operator app's pages, one module each."""
