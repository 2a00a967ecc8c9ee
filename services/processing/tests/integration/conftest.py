"""Fixtures of the processing service's integration tests (the harness itself is in processing_harness.py)."""

from processing_harness import logged, platform, state_machine_arn, workflow

__all__ = ["logged", "platform", "state_machine_arn", "workflow"]
