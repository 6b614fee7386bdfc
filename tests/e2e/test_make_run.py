"""`make run` as a user runs it: servers from the wheels, the system up, Ctrl-C ends it all."""

import os
import signal
import subprocess
import sys
import time

import httpx
import psutil

from services.common.devservers import free_port, port_open


def free_ports_in_a_row(count: int) -> int:
    while True:
        base = free_port()
        if base + count < 65535 and not any(port_open(base + i) for i in range(count)):
            return base


def test_run_brings_the_system_up_and_ctrl_c_leaves_nothing_behind(tmp_path):
    gateway_port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        # start the servers, as on a fresh machine
        if key not in ("DATABASE_URL", "ZHUCUN_MIGRATION_DATABASE_URL", "NATS_URL")
    }
    env |= {
        "ZHUCUN_DATA_DIR": str(tmp_path),
        "GATEWAY_PORT": str(gateway_port),
        "ZHUCUN_PG_PORT": str(free_port()),
        "ZHUCUN_NATS_PORT": str(free_port()),
        "ZHUCUN_SERVICE_PORT_BASE": str(free_ports_in_a_row(4)),
    }
    run = subprocess.Popen(
        [sys.executable, "-m", "zhucun.cli", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = run.stdout.readline()
            printed.append(line)
            if "Zhucun is up" in line or run.poll() is not None:
                break
        assert any("Zhucun is up" in line for line in printed), "".join(printed)
        ready = httpx.get(f"http://127.0.0.1:{gateway_port}/readyz", timeout=10)
        children = psutil.Process(run.pid).children(recursive=True)
        assert len(children) >= 7  # PostgreSQL, NATS, four services and the gateway

        run.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert run.wait(60) == 0
    finally:
        if run.poll() is None:
            run.kill()

    assert ready.status_code == 200
    assert not port_open(gateway_port)
    time.sleep(0.5)
    left = [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert left == []
    leftovers = [
        p.info["cmdline"]
        for p in psutil.process_iter(["cmdline"])
        if str(tmp_path) in " ".join(p.info["cmdline"] or [])
    ]
    assert leftovers == []
