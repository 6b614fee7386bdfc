"""py-spy under load: sample a server process and summarise where its time goes.

`python -m bench.run --profile` uses it after the measured runs; `python -m bench.profile RAW`
summarises a raw (collapsed-stack) file py-spy wrote with `--format raw`.
"""

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
_PROJECT = ("services", "gateway", "zhucun", "bench")


def find_py_spy() -> str | None:
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")


def start(spy: str, pid: int, seconds: float, out: Path) -> subprocess.Popen:
    """Sample `pid` at 100 Hz for `seconds` without stopping it; collapsed stacks into `out`."""
    return subprocess.Popen(
        [
            spy, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))),
            "--rate", "100", "--format", "raw", "--nonblocking", "--output", str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _frames(stack: str) -> list[tuple[str, str]]:
    frames = []
    for part in stack.split(";"):
        found = _FRAME.match(part)
        frames.append((found["func"], found["file"]) if found else (part, ""))
    return frames


def area(file: str) -> str:
    """The package a frame's file belongs to: `sqlalchemy`, `asyncio`, `services/common` ..."""
    parts = file.replace("\\", "/").split("/")
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1 :]
    if parts and parts[0] in _PROJECT and len(parts) > 1:
        return "/".join(parts[:2]).removesuffix(".py")
    return parts[0].removesuffix(".py") if parts and parts[0] else "?"


_SESSION_MARKS = (
    "Session.begin",
    "_autobegin",
    "commit",
    "Session.close",
    "AsyncSession.__init__",
    "Session.__init__",
    "Database.transaction",
    "_request_session",
    "pool/",
    "_start_transaction",
    "Transaction.start",
    "rollback",
)


def stage(frames: list[tuple[str, str]]) -> str:
    """What part of a request (or of the background) one sample was spent in."""
    text = ";".join(f"{func} ({file})" for func, file in frames)
    leaf = area(frames[-1][1]) if frames else "?"
    if "OutboxRelay" in text:
        return "outbox relay (claim, publish to NATS, mark)"
    if "ConsumerRunner" in text or leaf == "nats":
        return "NATS client, consumers"
    if leaf == "asyncpg":
        if any(mark in text for mark in _SESSION_MARKS):
            return "asyncpg: BEGIN / COMMIT round trips"
        return "asyncpg: the INSERT statements"
    if leaf in ("sqlalchemy", "sqlmodel", "greenlet") or (
        leaf in ("weakref", "_weakrefset", "contextlib", "threading") and "sqlalchemy" in text
    ):
        if any(mark in text for mark in _SESSION_MARKS):
            return "SQLAlchemy: session, transaction, pool"
        return "SQLAlchemy: building, compiling, binding statements; ORM RETURNING rows"
    if leaf == "aiohttp" or leaf == "yarl" or leaf == "multidict":
        return "aiohttp client (the proxy hop)"
    if leaf == "logging" or ("JsonFormatter" in text and leaf != "asyncio"):
        return "logging (one JSON line per request)"
    if leaf in ("fastapi", "starlette", "pydantic", "pydantic_core", "anyio", "json", "email"):
        return "FastAPI / Starlette / pydantic: routing, dependencies, validation, JSON"
    if leaf in ("uvicorn", "httptools", "asyncio", "uvloop", "<frozen runpy>"):
        return "uvicorn, HTTP parsing, event loop"
    if leaf.startswith(("services", "gateway")):
        return "project code"
    return "other (stdlib, uuid, contextvars ...)"


def summarise(raw: Path, title: str, top: int = 18) -> str:
    """Markdown: samples, self and total time by package, the hottest functions."""
    if not raw.exists():
        return f"## {title}\n\nno samples (py-spy wrote nothing).\n"
    total = 0
    self_area: Counter[str] = Counter()
    total_area: Counter[str] = Counter()
    self_func: Counter[str] = Counter()
    total_func: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        total += count
        func, file = frames[-1]
        stages[stage(frames)] += count
        self_area[area(file)] += count
        self_func[f"{func} ({file})"] += count
        for name in {area(f) for _, f in frames}:
            total_area[name] += count
        for name in {f"{fn} ({f})" for fn, f in frames}:
            total_func[name] += count
    if not total:
        return f"## {title}\n\nno samples.\n"

    def pct(n: int) -> str:
        return f"{100 * n / total:.1f}%"

    lines = [f"## {title}", "", f"{total} samples while busy.", ""]
    lines += ["| where the time goes | share |", "|---|---|"]
    lines += [f"| {name} | {pct(n)} |" for name, n in stages.most_common()]
    lines += [""]
    lines += ["| package | self | total |", "|---|---|---|"]
    for name, n in self_area.most_common(top):
        lines.append(f"| {name} | {pct(n)} | {pct(total_area[name])} |")
    lines += ["", "| hottest functions (self) | self |", "|---|---|"]
    for name, n in self_func.most_common(top):
        lines.append(f"| `{name}` | {pct(n)} |")
    project = [
        (name, n)
        for name, n in total_func.most_common()
        if name.split("(")[-1].startswith(_PROJECT)
        and not name.startswith(("<module> ", "main ", "serve "))
    ]
    lines += ["", "| project functions (total) | total |", "|---|---|"]
    for name, n in project[:top]:
        lines.append(f"| `{name}` | {pct(n)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(summarise(Path(path), path))
