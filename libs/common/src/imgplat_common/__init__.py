"""What the image platform's services share, and nothing more.

Every service installs this package; no service imports another service's code.
"""
