"""The sandbox's Memorystore for Redis API v1 over REST (aiohttp), as google-cloud-redis's REST transport calls it.

Paths and bodies follow the client's `rest_base.py`: instances get/list, `:failover` and `:import`
(both answer a finished long-running operation whose response is the Instance), operations get. Nothing
beyond Google's API: key counts reach the console as production's do, through the service's /readyz.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sandbox.cloudrun_json import timestamp
from sandbox.redis_state import RedisInstance, RedisState

STATE_KEY = web.AppKey("redis_state", RedisState)
_INSTANCE = "/v1/projects/{project}/locations/{location}/instances/{instance:[^/:]+}"
_TYPES = "type.googleapis.com/google.cloud.redis.v1."


def _error(code: int, status: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, "status": status}}, status=code)


def instance_json(inst: RedisInstance) -> dict[str, Any]:
    return {
        "name": inst.name, "displayName": inst.instance_id, "locationId": inst.location_id,
        "alternativeLocationId": inst.alternative_location_id, "currentLocationId": inst.location_id,
        "redisVersion": "REDIS_7_2", "host": "10.0.0.3", "port": 6379, "createTime": timestamp(inst.created_at),
        "state": "READY", "tier": "STANDARD_HA", "memorySizeGb": 1, "replicaCount": 1,
        "readReplicasMode": "READ_REPLICAS_DISABLED",
    }


def _name(request: web.Request) -> str:
    m = request.match_info
    return f"projects/{m['project']}/locations/{m['location']}/instances/{m['instance']}"


def _operation(state: RedisState, inst: RedisInstance, verb: str) -> dict[str, Any]:
    parent = inst.name.rsplit("/instances/", 1)[0]
    seq = len(state.requests)
    now = timestamp(state.clock())
    return {"name": f"{parent}/operations/operation-{seq:06d}", "done": True,
            "metadata": {"@type": _TYPES + "OperationMetadata", "createTime": now, "endTime": now,
                         "target": inst.name, "verb": verb, "apiVersion": "v1"},
            "response": {"@type": _TYPES + "Instance", **instance_json(inst)}}


async def get_instance(request: web.Request) -> web.Response:
    inst = request.app[STATE_KEY].get(_name(request))
    if inst is None:
        return _error(404, "NOT_FOUND", f"Resource '{_name(request)}' was not found.")
    return web.json_response(instance_json(inst))


async def list_instances(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    m = request.match_info
    found = [i for i in state.for_project(m["project"]) if m["location"] in ("-", i.location)]
    return web.json_response({"instances": [instance_json(i) for i in found]})


async def _mutate(request: web.Request, rpc: str) -> web.Response:
    state: RedisState = request.app[STATE_KEY]
    name = _name(request)
    try:
        body = json.loads(await request.text() or "{}")
    except ValueError:
        body = None
    inst = state.get(name)
    if inst is None:
        state.log(rpc, name, 404)
        return _error(404, "NOT_FOUND", f"Resource '{name}' was not found.")
    if not isinstance(body, dict) or (rpc == "ImportInstance" and not (body.get("inputConfig") or {}).get("gcsSource")):
        state.log(rpc, name, 400)
        return _error(400, "INVALID_ARGUMENT", "inputConfig.gcsSource.uri is required to import an instance.")
    inst = state.failover(name) if rpc == "FailoverInstance" else state.import_backup(name)
    state.log(rpc, name, 200)
    return web.json_response(_operation(state, inst, "failover" if rpc == "FailoverInstance" else "import"))


async def failover_instance(request: web.Request) -> web.Response:
    return await _mutate(request, "FailoverInstance")


async def import_instance(request: web.Request) -> web.Response:
    return await _mutate(request, "ImportInstance")


def redis_app(state: RedisState) -> web.Application:
    app = web.Application()
    app[STATE_KEY] = state
    r = app.router
    r.add_get("/v1/projects/{project}/locations/{location}/instances", list_instances)
    r.add_get(_INSTANCE, get_instance)
    r.add_post(_INSTANCE + ":failover", failover_instance)
    r.add_post(_INSTANCE + ":import", import_instance)
    return app
