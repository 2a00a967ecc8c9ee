"""Run the platform on one machine: moto as AWS, the real handlers in-process or in workers.

Nothing under services/ or libs/ imports this package: local wiring lives here only.
"""
