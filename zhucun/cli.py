"""`zhucun run | serve | migrate | seed | import-regions | new-key | rotate-data-keys`: the verbs
of the Makefile and of operations."""

import argparse
import asyncio
import os
import signal
import sys
import threading
from pathlib import Path

from zhucun.stack import APPS, SERVICES, Stack, database_url, settings_class

ROOT = Path(__file__).resolve().parents[1]


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("DATABASE_URL is not set (make run sets it for you)")
    return url


def run(_: argparse.Namespace) -> None:
    """Start the whole system and keep it up until Ctrl-C."""
    env = os.environ
    stack = Stack(
        data_dir=Path(env.get("ZHUCUN_DATA_DIR", ROOT / ".data")),
        gateway_port=int(env.get("GATEWAY_PORT", "8000")),
        pg_port=int(env.get("ZHUCUN_PG_PORT", "55432")),
        nats_port=int(env.get("ZHUCUN_NATS_PORT", "54222")),
    )
    base = int(env.get("ZHUCUN_SERVICE_PORT_BASE", "8101"))
    stack.service_ports = {name: base + i for i, name in enumerate(SERVICES)}
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        stack.start()
        gateway = stack.gateway_url
        print(f"\nZhucun is up. Gateway: {gateway}  (API docs: {gateway}/api/v1/docs)")
        for name in SERVICES:
            print(f"  {name:<12} {stack.service_url(name)}")
        print(f"  PostgreSQL   {stack.database_url}\n  NATS         {stack.nats_url}")
        print(demo_accounts())
        print("Logs in .data/logs/. Ctrl-C stops everything.\n", flush=True)
        while not stopping.wait(1):
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    print(f"{name} exited ({process.returncode}); stopping", file=sys.stderr)
                    stopping.set()
    finally:
        print("stopping...", flush=True)
        stack.stop()
        print("stopped.")


def demo_accounts() -> str:
    """The demo sign-ins, one per role, for the README and the console."""
    from zhucun.seed import DEMO_PASSWORD, DEMO_USERS, demo_login

    lines = [f"Demo sign-ins (password {DEMO_PASSWORD}; POST /api/v1/auth/token):"]
    for role, region_code, name in DEMO_USERS:
        lines.append(f"  {demo_login(role):<26} {region_code}  {name}")
    return "\n".join(lines)


def serve(args: argparse.Namespace) -> None:
    """Run one service (or the gateway): migrate its database, then serve it with uvicorn."""
    import uvicorn

    if not args.no_migrate:
        asyncio.run(prepare_one(args.name))
    uvicorn.run(
        APPS[args.name],
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        # Longer than the gateway keeps an idle connection (30 s), so the gateway never
        # sends a request on a connection the service is closing.
        timeout_keep_alive=75,
        timeout_graceful_shutdown=10,
        # Whose X-Forwarded-For uvicorn believes: nobody's unless FORWARDED_ALLOW_IPS names the
        # proxies in front (uvicorn's default trusts 127.0.0.1, so on a shared machine any local
        # client could name any address to the audit log and the rate limits).
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", ""),
    )


async def prepare_one(name: str) -> None:
    """Migrate one database as its owner (`ZHUCUN_MIGRATION_DATABASE_URL`, else DATABASE_URL)
    and grant the role the part serves as (DATABASE_URL's user) what it needs."""
    from services.common.migrate import upgrade

    settings = settings_class(name)()
    await upgrade(name, settings.migration_database_url, serve_as=settings.database_role)


def _part(name: str) -> str:
    if name not in APPS:
        raise argparse.ArgumentTypeError(f"not a part: {name} (one of {', '.join(sorted(APPS))})")
    return name


def migrate(args: argparse.Namespace) -> None:
    """Migrate the parts named (every part if none), as the tables' owner."""

    async def each() -> None:
        for name in args.names or APPS:
            await prepare_one(name)

    asyncio.run(each())


def seed(_: argparse.Namespace) -> None:
    from zhucun import seed as demo

    asyncio.run(demo.seed_demo_county(_server_url(), os.environ.get("NATS_URL", "")))


def import_regions(args: argparse.Namespace) -> None:
    """Load another county's or province's region CSV (code, name, level, parent)."""
    from gateway import service
    from services.common.db import Database

    async def load() -> int:
        rows = service.read_region_csv(Path(args.file))
        db = Database(database_url(_server_url(), "gateway"), pool_size=1)
        async with db.transaction() as session:
            count = await service.import_regions(session, rows)
        await db.dispose()
        return count

    print(f"imported {asyncio.run(load())} regions")


def new_key(_: argparse.Namespace) -> None:
    """A new key for ZHUCUN_DATA_KEYS or ZHUCUN_HASH_KEY."""
    from services.common.sensitive import new_key as make

    print(make())


def rotate_data_keys(args: argparse.Namespace) -> None:
    """Re-encrypt the sensitive columns of every database under the first key of
    ZHUCUN_DATA_KEYS (after it was put first and the services restarted), so the old key can go.
    Each database in one transaction, audited; a row no key opens changes nothing in its
    database and exits non-zero."""
    from gateway.identity.models import ENCRYPTED_COLUMNS as GATEWAY_COLUMNS
    from services.common.db import Database, database_exists
    from services.common.rekey import rotate_data_keys as rotate
    from services.common.sensitive import DecryptionFailed, SensitiveData
    from services.common.settings import SharedSettings
    from services.notify.contacts.models import ENCRYPTED_COLUMNS as NOTIFY_COLUMNS

    shared = SharedSettings()
    vault = SensitiveData(shared.zhucun_data_keys, shared.zhucun_hash_key)
    # Each database with encrypted columns, and where its service declares them.
    encrypted = {"gateway": GATEWAY_COLUMNS, "notify": NOTIFY_COLUMNS}
    server = _server_url()

    async def each_database() -> None:
        for name, columns in encrypted.items():
            url = database_url(server, name, args.database_prefix)
            if not await database_exists(url):
                print(f"{name}: no database yet, nothing to re-encrypt")
                continue
            db = Database(url, pool_size=1)
            try:
                async with db.transaction() as session:
                    counts = await rotate(session, vault, columns)
            except DecryptionFailed as exc:
                notes = "; ".join(getattr(exc, "__notes__", []))
                sys.exit(f"{name}: {exc}: {notes}; nothing changed in this database")
            finally:
                await db.dispose()
            for column, count in counts.items():
                print(f"{name}: {column}: {count} rows re-encrypted")

    asyncio.run(each_database())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="zhucun", description=__doc__)
    commands = parser.add_subparsers(required=True)
    commands.add_parser("run", help="the whole system with the demo county").set_defaults(func=run)
    one = commands.add_parser("serve", help="one service, or the gateway")
    one.add_argument("name", choices=sorted(APPS))
    one.add_argument("--host", default="127.0.0.1")
    one.add_argument("--port", type=int, default=8000)
    one.add_argument("--workers", type=int, default=1)
    one.add_argument("--no-migrate", action="store_true")
    one.set_defaults(func=serve)
    migrating = commands.add_parser("migrate", help="create and migrate the parts' databases")
    # A type, not choices: argparse in 3.11 refuses an empty list against choices.
    migrating.add_argument("names", nargs="*", type=_part, help="every part if none")
    migrating.set_defaults(func=migrate)
    commands.add_parser("seed", help="seed the demo county").set_defaults(func=seed)
    commands.add_parser("new-key", help="a key for sensitive data").set_defaults(func=new_key)
    rotate = commands.add_parser(
        "rotate-data-keys", help="re-encrypt sensitive data under the newest data key"
    )
    rotate.add_argument(
        "--database-prefix", default="zhucun", help="the databases are <prefix>_<service>"
    )
    rotate.set_defaults(func=rotate_data_keys)
    regions = commands.add_parser("import-regions", help="load a region CSV")
    regions.add_argument("file")
    regions.set_defaults(func=import_regions)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
