"""Finding and loading configuration files, with errors that name the file, line and key.

The default configuration is the repository's ``config/`` folder, which ships inside the
package (``tierzero/_defaults``) so an installed tierzero works with no files of its own.
``--config DIR`` or ``TIERZERO_CONFIG`` points at a folder of the same layout instead.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file is missing or wrong; the message says where and why."""


def default_config_dir() -> Path:
    """The embedded defaults: packaged copy when installed, the repo's ``config/`` otherwise."""
    packaged = Path(__file__).parent / "_defaults"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "config"


def config_dir(explicit: Path | None = None) -> Path:
    """The configuration folder in force: ``--config``, then ``TIERZERO_CONFIG``, then defaults."""
    chosen = explicit or (Path(env) if (env := os.environ.get("TIERZERO_CONFIG")) else None)
    folder = chosen or default_config_dir()
    if not folder.is_dir():
        raise ConfigError(f"configuration folder not found: {folder}")
    return folder


def load_yaml(path: Path) -> Any:
    """Parse a YAML file safely; syntax errors carry the line number."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc


def load_model(path: Path, model: type[ModelT], document: Any = None) -> ModelT:
    """Validate a YAML file against a pydantic model; the error names line and key path."""
    data = load_yaml(path) if document is None else document
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        line = _line_of(path, loc)
        where = f"{path}:{line}" if line else str(path)
        key = ".".join(str(p) for p in loc) or "(top level)"
        raise ConfigError(f"{where}: '{key}': {first['msg']}") from exc


def _line_of(path: Path, loc: tuple[Any, ...]) -> int | None:
    """Best-effort 1-based line of a key path in a YAML file (the deepest node found)."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            key_node = next((k for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            line = (key_node.start_mark.line if key_node else match.start_mark.line) + 1
            node = match
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def write_atomically(path: Path, text: str) -> None:
    """Write a file so that a reader sees the old content or the new, never half of it
    (a temporary file in the same folder, flushed to disk, then renamed over the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
