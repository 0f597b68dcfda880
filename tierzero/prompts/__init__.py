"""Versioned prompt templates: each model call names the template id and version it used.

A template is a Markdown file with a small YAML header (``id``, ``version``, ``purpose``) and a
body using ``string.Template`` placeholders (``$name``). Substitution is one pass, so ``$`` or
braces inside substituted text are never expanded again. ``versions.lock`` records the SHA-256
of each template's body for its version: changing a body without bumping its version fails the
test suite, so every prompt change is a version change and shows in the audit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

import yaml

FOLDER = Path(__file__).parent
LOCK_FILE = FOLDER / "versions.lock"


@dataclass(frozen=True)
class Prompt:
    """One template: its identity (id, version, body digest) and its text."""

    id: str
    version: int
    purpose: str
    body: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body.encode("utf-8")).hexdigest()

    @property
    def ref(self) -> dict[str, object]:
        """What the audit records about the template behind a model call."""
        return {"id": self.id, "version": self.version, "sha256": self.sha256}

    def render(self, **values: object) -> str:
        """The body with every ``$name`` replaced; a missing value raises KeyError."""
        return Template(self.body).substitute({k: str(v) for k, v in values.items()})


def parse(text: str, origin: str) -> Prompt:
    """Split a template file into its header and body."""
    if not text.startswith("---\n"):
        raise ValueError(f"{origin}: a prompt starts with a '---' YAML header")
    header, _, body = text[4:].partition("\n---\n")
    meta = yaml.safe_load(header) or {}
    try:
        return Prompt(str(meta["id"]), int(meta["version"]), str(meta["purpose"]), body.strip())
    except KeyError as exc:
        raise ValueError(f"{origin}: header lacks {exc.args[0]!r}") from None


@cache
def load(prompt_id: str) -> Prompt:
    """The packaged template ``<prompt_id>.md``."""
    path = FOLDER / f"{prompt_id}.md"
    if not path.is_file():
        raise KeyError(f"no prompt template {prompt_id!r} in {FOLDER}")
    prompt = parse(path.read_text(encoding="utf-8"), str(path))
    if prompt.id != prompt_id:
        raise ValueError(f"{path}: header id {prompt.id!r} does not match the file name")
    return prompt


def all_prompts() -> list[Prompt]:
    """Every packaged template, by id."""
    return [load(p.stem) for p in sorted(FOLDER.glob("*.md"))]


def lock() -> dict[str, dict[str, object]]:
    """The recorded (version, sha256) of every template."""
    data: dict[str, dict[str, object]] = json.loads(LOCK_FILE.read_text(encoding="utf-8"))
    return data
