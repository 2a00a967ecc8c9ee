"""`imgplat`: the platform from a terminal or a script. Each command is thin: parse, call ImgplatClient, print.

Exit codes are listed in imgplat_cli.output. Shell completion: `imgplat --install-completion`.
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from typing import Annotated, Any

import httpx
import typer
from typer import TyperException

from imgplat_cli import image_commands
from imgplat_cli.api_client import DEFAULT_API_URL, ImgplatClient, NotSignedIn, Unreachable
from imgplat_cli.output import (
    EXIT_FAILED,
    EXIT_NOT_SIGNED_IN,
    EXIT_UNREACHABLE,
    JsonOption,
    Options,
    err,
    options_of,
    out,
    print_json,
    reports_errors,
)
from imgplat_cli.token_cache import TokenCache

API_URL_VARIABLE = "IMGPLAT_API_URL"


class ImgplatApp(typer.Typer):
    """With --json anywhere on the command line, usage errors too are JSON on stderr (exit 2)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if "--json" not in sys.argv[1:]:
            return super().__call__(*args, **kwargs)
        try:
            exit_code = super().__call__(*args, standalone_mode=False, **kwargs)
        except TyperException as error:  # vendored click's usage and parameter errors
            print_json({"error": {"code": "usage", "message": error.format_message()}}, err)
            sys.exit(error.exit_code)
        except typer.Abort:
            print_json({"error": {"code": "aborted", "message": "Aborted."}}, err)
            sys.exit(EXIT_FAILED)
        sys.exit(exit_code if isinstance(exit_code, int) else 0)


app = ImgplatApp(help="imgplat: upload, list, fetch and delete your images.", no_args_is_help=True)


def _print_version(wanted: bool) -> None:
    if wanted:
        out.print(f"imgplat {version('imgplat-cli')}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    api_url: Annotated[
        str, typer.Option(envvar=API_URL_VARIABLE, help=f"The platform's API address (or set {API_URL_VARIABLE}).")
    ] = DEFAULT_API_URL,
    json_output: JsonOption = False,
    show_version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    # Tests pass an httpx.Client (a fake platform's transport) as the context's obj.
    http = ctx.obj if isinstance(ctx.obj, httpx.Client) else None
    ctx.obj = Options(ImgplatClient(api_url, TokenCache(), http), json_output)


EmailOption = Annotated[str, typer.Option(prompt=True, help="Your e-mail address.")]
PasswordOption = Annotated[
    str, typer.Option(prompt=True, hide_input=True, envvar="IMGPLAT_PASSWORD", help="Prompted when not given.")
]
CodeOption = Annotated[str, typer.Option(prompt=True, help="The code from the e-mail (locally: any code works).")]


@app.command()
@reports_errors
def signup(ctx: typer.Context, email: EmailOption, password: PasswordOption, json_output: JsonOption = False) -> None:
    """Create an account; a verification code is e-mailed (locally: any code works)."""
    options = options_of(ctx, json_output)
    answer = options.client.sign_up(email, password)
    options.emit(answer, lambda: out.print(f"{answer['message']} Next: imgplat verify --email {email}"))


@app.command()
@reports_errors
def verify(ctx: typer.Context, email: EmailOption, code: CodeOption, json_output: JsonOption = False) -> None:
    """Confirm the e-mail address with the code that was sent."""
    options = options_of(ctx, json_output)
    answer = options.client.verify(email, code)
    options.emit(answer, lambda: out.print(answer["message"]))


@app.command(name="resend-code")
@reports_errors
def resend_code(ctx: typer.Context, email: EmailOption, json_output: JsonOption = False) -> None:
    """E-mail a new verification code (the answer is the same whether or not the account exists)."""
    options = options_of(ctx, json_output)
    answer = options.client.resend_code(email)
    options.emit(answer, lambda: out.print(f"{answer['message']} Next: imgplat verify --email {email}"))


@app.command()
@reports_errors
def login(
    ctx: typer.Context,
    email: EmailOption,
    password: PasswordOption,
    code: Annotated[
        str | None, typer.Option(help="With two-factor sign-in on: the app's code (prompted when not given).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Sign in; the tokens are cached (0600) in your config dir and refreshed when they expire."""
    options = options_of(ctx, json_output)
    session = options.client.sign_in(email, password, lambda: code or typer.prompt("Code from your authenticator app"))
    summary = {"email": session.email, "api_url": options.client.api_url, "expires_at": session.expires_at}
    options.emit(summary, lambda: out.print(f"Signed in as {email} on {options.client.api_url}."))


@app.command()
@reports_errors
def logout(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Revoke every token of your account and forget the session on this machine."""
    options = options_of(ctx, json_output)
    options.client.sign_out()
    options.emit({"signed_out": True}, lambda: out.print("Signed out."))


@app.command(name="forgot-password")
@reports_errors
def forgot_password(ctx: typer.Context, email: EmailOption, json_output: JsonOption = False) -> None:
    """E-mail a password reset code (the answer is the same whether or not the account exists)."""
    options = options_of(ctx, json_output)
    answer = options.client.forgot_password(email)
    next_step = f"Next: imgplat confirm-forgot-password --email {email}"
    options.emit(answer, lambda: out.print(f"{answer['message']} {next_step}"))


@app.command(name="confirm-forgot-password")
@reports_errors
def confirm_forgot_password(
    ctx: typer.Context,
    email: EmailOption,
    code: CodeOption,
    new_password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="Prompted when not given.")
    ],
    json_output: JsonOption = False,
) -> None:
    """Set a new password with the reset code from forgot-password."""
    options = options_of(ctx, json_output)
    answer = options.client.confirm_forgot_password(email, code, new_password)
    options.emit(answer, lambda: out.print(f"{answer['message']} Next: imgplat login --email {email}"))


@app.command()
@reports_errors
def status(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Which platform, whether it answers, who is signed in. Exit 5 when unreachable, 3 when not signed in."""
    options = options_of(ctx, json_output)
    summary = _status_of(options.client)
    options.emit(summary, lambda: out.print("\n".join(f"{key}: {value}" for key, value in summary.items())))
    if not summary["reachable"]:
        raise typer.Exit(EXIT_UNREACHABLE)
    if not summary["signed_in"]:
        raise typer.Exit(EXIT_NOT_SIGNED_IN)


def _status_of(client: ImgplatClient) -> dict[str, Any]:
    summary: dict[str, Any] = {"api_url": client.api_url, "reachable": True, "signed_in": False, "email": None}
    try:
        client.probe()
    except Unreachable as error:
        return summary | {"reachable": False, "problem": str(error)}
    cached = client.cache.load(client.api_url)
    if cached is None:
        return summary | {"problem": f"Not signed in to {client.api_url}. Run: imgplat login"}
    try:
        session = client.session()  # refreshed when expired: proves the session still works
        client.list_images(limit=1)
    except NotSignedIn as error:
        return summary | {"email": cached.email, "problem": error.message}
    valid_until = image_commands.timestamp(session.expires_at)
    return summary | {"signed_in": True, "email": session.email, "tokens_valid_until": valid_until}


mfa_app = typer.Typer(help="Two-factor sign-in with an authenticator app (TOTP).", no_args_is_help=True)
app.add_typer(mfa_app, name="mfa")


@mfa_app.command(name="setup")
@reports_errors
def mfa_setup(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """A new secret for your authenticator app; nothing changes until `imgplat mfa verify`."""
    options = options_of(ctx, json_output)
    answer = options.client.start_totp_setup()
    options.emit(
        answer,
        # soft_wrap: the URI stays one line whatever the terminal's width, so that a copy of it is the URI.
        lambda: out.print(
            f"Secret: {answer['secret_code']}\nURI (for a QR code): {answer['otpauth_uri']}\n"
            "Next: imgplat mfa verify --code <the code your app shows>",
            soft_wrap=True,
        ),
    )


@mfa_app.command(name="verify")
@reports_errors
def mfa_verify(
    ctx: typer.Context,
    code: Annotated[str, typer.Option(prompt=True, help="The code your app shows now.")],
    json_output: JsonOption = False,
) -> None:
    """Turn two-factor sign-in on with the code your app shows for the new secret."""
    options = options_of(ctx, json_output)
    answer = options.client.confirm_totp(code)
    options.emit(answer, lambda: out.print(answer["message"]))


@mfa_app.command(name="disable")
@reports_errors
def mfa_disable(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Turn two-factor sign-in off: sign-in asks for the password only."""
    options = options_of(ctx, json_output)
    answer = options.client.disable_totp()
    options.emit(answer, lambda: out.print(answer["message"]))


app.command()(image_commands.upload)
app.command()(image_commands.get)
app.command(name="list")(image_commands.list_images)
app.command()(image_commands.delete)
