"""What the local platform prints: one timestamped line per event, and the banner once everything runs."""

from __future__ import annotations

import time

# launcher.py waits for this line: the platform serves once it is printed.
READY_BANNER = "imgplat is running locally"
# Logged once every function's worker has imported its handler (they do it in the background, after the banner).
WORKERS_READY = "warm workers ready"
# The one variable the CLI (clients/cli) reads the API's address from.
API_URL_VARIABLE = "IMGPLAT_API_URL"
LOCAL_CODE_HINT = "any code works locally (no e-mail is sent), e.g. 123456"


def log(component: str, message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} [{component}] {message}", flush=True)


def print_banner(api_url: str, aws_url: str) -> None:
    """Where everything is, once the platform serves."""
    print(
        f"\n  {READY_BANNER}\n"
        f"    API:           {api_url}   (export {API_URL_VARIABLE}={api_url})\n"
        f"    Web page:      {api_url}/   (API docs: {api_url}/docs)\n"
        f"    AWS emulator:  {aws_url}   (moto; aws --endpoint-url {aws_url} ...)\n"
        f"    Sign-up codes: {LOCAL_CODE_HINT}\n"
        f"    State:         in memory only; a restart starts empty\n"
        f"    Stop:          Ctrl-C\n",
        flush=True,
    )
