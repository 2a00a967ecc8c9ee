"""Lambda entry points of the auth service."""
