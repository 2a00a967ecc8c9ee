"""Lambda entry points of the upload service (one module per function)."""

from imgplat_common.cold_start import begin_cold_start

# Python imports this package before the handler module Lambda names, so this runs before anything a handler loads.
begin_cold_start()
