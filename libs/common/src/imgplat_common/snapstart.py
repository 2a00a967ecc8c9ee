"""Lambda SnapStart (param snapStart, docs/deploy.md): what each environment restored from one snapshot makes anew.

With SnapStart, Lambda runs a function's init once, snapshots the memory and resumes every new execution environment
from that one copy. Whatever init left in memory is then shared by all of them: the `random` module's state (the
same "random" numbers in every environment), and any client made at import (its credentials and open connections).
The API stores make their clients on first use, so today none is in the snapshot; clearing them after a restore
keeps that true if a client ever moves to import time. Ids and secrets never come from `random` (keys.new_image_id
uses `secrets`, which reads the kernel on every call), so re-seeding is defence in depth for libraries that use it.

The hooks module exists only in Lambda's managed Python runtimes (3.12+): elsewhere registering does nothing.
"""

from __future__ import annotations

import importlib
import random
import sys
from typing import Any, Protocol

# Lambda's runtime hook library (the snapshot-restore-py package, preinstalled in the managed runtime).
SNAPSHOT_RESTORE_MODULE = "snapshot_restore_py"


class CachedFactory(Protocol):
    """A function made once per container with functools.cache (a store's client or store)."""

    def cache_clear(self) -> None: ...


def renew_after_restore(*cached_factories: CachedFactory) -> bool:
    """Register `renew_environment` for these factories to run after each SnapStart restore; False (and nothing
    registered) outside Lambda's runtime, where there is no snapshot."""
    try:
        hooks = importlib.import_module(SNAPSHOT_RESTORE_MODULE)
    except ImportError:
        return False
    hooks.register_after_restore(renew_environment, *cached_factories)
    return True


def renew_environment(*cached_factories: CachedFactory) -> None:
    """Give a restored environment its own randomness, credentials and connections."""
    random.seed()  # no argument: fresh entropy from the operating system
    # boto3's default session keeps the credentials it resolved: the next client resolves this environment's own.
    # (boto3 is the stores' dependency, not this library's: reset it only where it is loaded.)
    boto3: Any = sys.modules.get("boto3")
    if boto3 is not None:
        boto3.DEFAULT_SESSION = None
    for factory in cached_factories:
        factory.cache_clear()
