"""One OpenAPI document for the whole API: the gateway's own routes and every service's."""

import json
from typing import Any

from gateway.proxy import Upstreams


def merge(own: dict[str, Any], services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Add each service's `/api/v1/...` paths and schemas to `own`.

    Schemas of the same name and shape (Page, Health, DeadLetterPublic ...) are shared; a name
    that two services use for different shapes is prefixed with the service's name.
    """
    merged = json.loads(json.dumps(own))
    schemas: dict[str, Any] = merged.setdefault("components", {}).setdefault("schemas", {})
    paths: dict[str, Any] = merged.setdefault("paths", {})
    tags = {t["name"] for t in merged.get("tags", [])}
    for service, document in services.items():
        own_schemas = document.get("components", {}).get("schemas", {})
        renames = {
            name: f"{service.capitalize()}{name}"
            for name, schema in own_schemas.items()
            if name in schemas and schemas[name] != schema
        }
        text = json.dumps({"paths": document.get("paths", {}), "schemas": own_schemas})
        for old, new in renames.items():
            text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
        part = json.loads(text)
        for name, schema in part["schemas"].items():
            schemas.setdefault(renames.get(name, name), schema)
        for path, item in part["paths"].items():
            if path.startswith(f"/api/v1/{service}/") and not path.endswith("/openapi.json"):
                paths[path] = item
        if service not in tags:
            merged.setdefault("tags", []).append({"name": service})
            tags.add(service)
    return merged


async def fetch_all(upstreams: Upstreams) -> dict[str, dict[str, Any]]:
    """The documents of the services that answer; one that is down is left out."""
    documents = {}
    for service in upstreams.urls:
        try:
            documents[service] = await upstreams.get_json(
                service, f"/api/v1/{service}/openapi.json"
            )
        except Exception:  # a service that is down only leaves its routes out of the document
            continue
    return documents
