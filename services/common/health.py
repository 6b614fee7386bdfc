"""`/healthz` (the process is up) and `/readyz` (its database and NATS answer)."""

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text

from services.common.errors import Unavailable

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", summary="进程存活 / The process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", summary="依赖就绪 / The database and NATS are reachable")
async def readyz(request: Request) -> Health:
    kernel = request.app.state.kernel
    checks: dict[str, str] = {}
    try:
        async with kernel.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready", never a 500
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if not kernel.messaging.connected:
        checks["nats"] = "unreachable"
    elif not kernel.messaging.ready.is_set():
        checks["nats"] = "streams not provisioned"
    else:
        checks["nats"] = "ok"
    for check in kernel.readiness_checks:
        checks.update(await check())
    if any(v != "ok" for v in checks.values()):
        raise Unavailable(
            "依赖不可用: " + ", ".join(f"{k}={v}" for k, v in checks.items()), code="not_ready"
        )
    return Health(status="ok", checks=checks)
