"""The upload service: hands out pre-signed upload forms and owns the platform's shared storage and queue."""
