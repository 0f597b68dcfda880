"""The options of commands that read alert files (``triage``, ``normalize``): one spelling of
the paths, ``--source`` and ``--mapping``, and one check of them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tierzero.cli.support import fail
from tierzero.ingest.registry import ADAPTERS, MAPPED_SOURCE

PathsArgument = Annotated[
    list[Path],
    typer.Argument(help="Alert files or folders to read.", metavar="PATH", show_default=False),
]
SourceOption = Annotated[
    str,
    typer.Option(
        help=f"Format of the input: auto (detect per record), {MAPPED_SOURCE} "
        f"(use --mapping), or one of: {', '.join(ADAPTERS)}."
    ),
]
MappingOption = Annotated[
    Path | None,
    typer.Option(help="Field mapping (YAML) for CSV / JSON-lines files without NAME.mapping.yaml."),
]


def check_source(source: str, mapping: Path | None) -> None:
    """Refuse (exit 2) a ``--source`` no adapter has, or ``mapped`` without ``--mapping``."""
    if source not in ("auto", MAPPED_SOURCE, *ADAPTERS):
        raise fail(
            f"unknown --source {source!r}; choose auto, {MAPPED_SOURCE}, or one of: "
            f"{', '.join(ADAPTERS)}",
            2,
        )
    if source == MAPPED_SOURCE and mapping is None:
        raise fail("--source mapped needs --mapping FILE", 2)
