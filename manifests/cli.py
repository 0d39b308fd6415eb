"""`tandem manifests`: write both add-on manifests for one deployment."""

from __future__ import annotations

from pathlib import Path

import click

from manifests import ManifestError, write_manifests


@click.command("manifests")
@click.option(
    "--base-url",
    required=True,
    help="Public HTTPS base URL of Tandem's web app, for example "
    "https://tandem.example.com; every URL in the manifests starts with it.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write google/deployment.json and outlook/manifest.xml to.",
)
def manifests(base_url: str, out_dir: Path) -> None:
    """Write the Google Workspace deployment and the Outlook add-in manifest."""
    try:
        paths = write_manifests(base_url, out_dir)
    except ManifestError as error:
        raise click.UsageError("\n".join(error.problems)) from None
    except OSError as error:
        raise click.ClickException(
            f"Cannot write to {out_dir}: {error.strerror or error}; "
            "choose a writable --out directory."
        ) from None
    for path in paths:
        click.echo(f"wrote {path}")
