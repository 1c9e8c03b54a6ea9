"""`cadenza corpus fetch`: download the manifest's sources (for users with internet; never in tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corpus.errors import CorpusFetchError

corpus_app = typer.Typer(help="The pedagogy corpus.", no_args_is_help=True)


@corpus_app.command("fetch")
def fetch(
    dest: Annotated[Path, typer.Option(help="Folder for the downloaded texts.")] = Path("corpus-download"),
    manifest: Annotated[
        Path | None, typer.Option(help="Manifest TSV; default: the shared corpus manifest.")
    ] = None,
    timeout_s: Annotated[float, typer.Option(help="Per-request timeout.")] = 60.0,
) -> None:
    """Download every manifest row whose source URL is a plain-text Gutenberg ebook or a direct file."""
    import httpx

    from api.settings import get_settings
    from corpus.manifest import read_manifest

    entries = read_manifest(manifest or get_settings().corpus_manifest)
    dest.mkdir(parents=True, exist_ok=True)
    fetched = skipped = 0
    with httpx.Client(timeout=timeout_s, follow_redirects=True) as client:
        for entry in entries.values():
            url = download_url(entry.url)
            if url is None:
                print(f"skip {entry.slug}: no downloadable source URL ({entry.url or entry.source_note!r})")
                skipped += 1
                continue
            try:
                response = client.get(url)
                response.raise_for_status()
            except httpx.HTTPError as err:
                raise CorpusFetchError(f"{entry.slug}: download from {url} failed ({err})") from err
            suffix = ".txt" if url.endswith(".txt") or "gutenberg" in url else Path(url).suffix or ".txt"
            (dest / f"{entry.slug}{suffix}").write_bytes(response.content)
            fetched += 1
            print(f"fetched {entry.slug} <- {url}")
    print(
        f"{fetched} fetched, {skipped} skipped into {dest} (index them with `cadenza index {dest} --manifest ...`)"
    )


def download_url(url: str | None) -> str | None:
    """Gutenberg ebook pages map to their UTF-8 plain-text file; other http(s) URLs are used as given."""
    import re

    if not url or not url.startswith(("http://", "https://")):
        return None
    match = re.match(r"https?://(?:www\.)?gutenberg\.org/ebooks/(\d+)/?$", url)
    if match:
        number = match.group(1)
        return f"https://www.gutenberg.org/cache/epub/{number}/pg{number}.txt"
    if url.startswith("https://archive.org/details/"):
        return None  # an item page, not a file; the user picks a format there
    return url


def register(app: typer.Typer) -> None:
    app.add_typer(corpus_app, name="corpus")


__all__ = ["download_url", "register"]
