"""One module per dataset (or family of datasets sharing a format)."""
