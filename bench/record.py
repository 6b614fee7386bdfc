"""What every bench does with its results: the machine it ran on, and the files it leaves."""

import json
import os
import platform
from pathlib import Path
from typing import Any


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"


def save(folder: Path, name: str, results: dict[str, Any], text: str) -> None:
    """`<folder>/<date>-<name>.json` and `.md`, and the text printed."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"{results['date']}-{name}"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    stem.with_suffix(".md").write_text(text + "\n")
    print(text)
