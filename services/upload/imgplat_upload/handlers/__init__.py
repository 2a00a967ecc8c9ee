"""Lambda entry points of the upload service (one module per function)."""
