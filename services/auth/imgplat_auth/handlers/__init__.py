"""Lambda entry points of the auth service."""

from imgplat_common.cold_start import pause_garbage_collection

# Python imports this package before the handler module Lambda names, so this runs before anything a handler loads.
pause_garbage_collection()
