"""The whole system on one machine: PostgreSQL, NATS, the four services and the gateway.

`make run` and the end-to-end tests start it the same way: the servers from the wheels (unless
DATABASE_URL / NATS_URL name external ones), each database created and migrated as the owner,
the demo county seeded, then one uvicorn process per service, serving as the runtime role
(`RUNTIME_ROLE`, created on the embedded server; on an external one, DATABASE_URL's user, with
ZHUCUN_MIGRATION_DATABASE_URL the owner's). `stop()` ends every process it started.
"""

import asyncio
import importlib
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from services.common.db import on_database
from services.common.devservers import (
    RUNTIME_ROLE,
    NatsServer,
    PostgresServer,
    ensure_login_role,
    port_open,
    stop_process,
)
from services.common.migrate import upgrade
from services.common.settings import ServiceSettings, SharedSettings

log = logging.getLogger("zhucun.stack")

SERVICES = ("attendance", "households", "inspections", "notify")
APPS = {
    **{name: f"services.{name}.app:create_app" for name in SERVICES},
    "gateway": "gateway.app:create_app",
}


def database_url(server_url: str, name: str, prefix: str = "zhucun") -> str:
    """The URL of `name`'s own database (`<prefix>_<name>`) on the server `server_url` names."""
    return on_database(server_url, f"{prefix}_{name}")


def settings_class(name: str) -> type[ServiceSettings]:
    """The settings of a service (`services.<name>.settings`) or of the gateway."""
    module = "gateway.settings" if name == "gateway" else f"services.{name}.settings"
    return getattr(importlib.import_module(module), f"{name.title()}Settings")


async def prepare_databases(
    server_url: str, prefix: str = "zhucun", *, serve_as: str | None = None
) -> None:
    """Create and migrate every database (one per service and the gateway's) as `server_url`'s
    user, granting the role `serve_as` what serving needs."""
    for name in APPS:
        await upgrade(name, database_url(server_url, name, prefix), serve_as=serve_as)


def wait_http(url: str, process: subprocess.Popen, log_file: Path, timeout: float = 60) -> None:
    """Wait until `url` answers 200; fail at once if the process serving it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited; see {log_file}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s; see {log_file}")


@dataclass
class Stack:
    data_dir: Path
    gateway_port: int = 8000
    service_ports: dict[str, int] = field(
        default_factory=lambda: {name: 8101 + i for i, name in enumerate(SERVICES)}
    )
    pg_port: int = 55432
    nats_port: int = 54222
    seed: bool = True
    database_prefix: str = "zhucun"  # tests use their own, beside a developer's databases
    extra_env: dict[str, str] = field(default_factory=dict)
    postgres: PostgresServer | None = None
    nats: NatsServer | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    database_url: str = ""  # the server, as the role the services serve as
    migration_database_url: str = ""  # the server, as the owner: migrations, seed, set-up
    nats_url: str = ""

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def service_url(self, name: str) -> str:
        port = self.gateway_port if name == "gateway" else self.service_ports[name]
        return f"http://127.0.0.1:{port}"

    def start(self) -> None:
        """Start what is missing: servers unless their URLs are given (or in the environment)."""
        shared = SharedSettings()
        self.database_url = self.database_url or shared.database_url or ""
        self.migration_database_url = (
            self.migration_database_url or shared.zhucun_migration_database_url or self.database_url
        )
        self.nats_url = self.nats_url or shared.nats_url or ""
        if not self.database_url:
            self.postgres = PostgresServer(self.data_dir / "postgres", self.pg_port)
            self.postgres.start()
            self.migration_database_url = self.postgres.url
            self.database_url = asyncio.run(ensure_login_role(self.postgres.url, RUNTIME_ROLE))
        if not self.nats_url:
            self.nats = NatsServer(self.data_dir / "nats", self.nats_port)
            self.nats.start()
            self.nats_url = self.nats.url
        serve_as = make_url(self.database_url).username
        asyncio.run(
            prepare_databases(self.migration_database_url, self.database_prefix, serve_as=serve_as)
        )
        if self.seed:
            from zhucun import seed

            asyncio.run(
                seed.seed_demo_county(
                    self.migration_database_url, self.nats_url, self.database_prefix
                )
            )
        for name in APPS:
            self.start_service(name)
        for name in APPS:
            self.wait_ready(name)

    def environment(self) -> dict[str, str]:
        """The services' environment: the runtime role's URLs only (they start with
        --no-migrate; the owner's is not theirs to know)."""
        env = {
            **{k: v for k, v in os.environ.items() if not k.endswith("MIGRATION_DATABASE_URL")},
            "DATABASE_URL": self.database_url,
            "NATS_URL": self.nats_url,
            "ZHUCUN_JWKS_URL": f"{self.gateway_url}/api/v1/auth/jwks",
            **{
                f"{name.upper()}_DATABASE_URL": database_url(
                    self.database_url, name, self.database_prefix
                )
                for name in APPS
            },
            **{f"GATEWAY_{n.upper()}_URL": self.service_url(n) for n in SERVICES},
            **self.extra_env,
        }
        return env

    def start_service(self, name: str) -> None:
        port = self.gateway_port if name == "gateway" else self.service_ports[name]
        if port_open(port):
            raise RuntimeError(f"port {port} for {name} is taken; set another")
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / f"{name}.log").open("ab") as out:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "zhucun.cli", "serve", name, "--port", str(port),
                 "--no-migrate"],
                env=self.environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, name: str, timeout: float = 60) -> None:
        log_file = self.data_dir / "logs" / f"{name}.log"
        wait_http(f"{self.service_url(name)}/readyz", self.processes[name], log_file, timeout)

    def stop_service(self, name: str) -> None:
        stop_process(self.processes.pop(name, None))

    def stop(self) -> None:
        """Stop the gateway and services first (together), then NATS, then PostgreSQL."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name in list(self.processes):
            self.stop_service(name)
        if self.nats is not None:
            self.nats.stop()
        if self.postgres is not None:
            self.postgres.stop()
