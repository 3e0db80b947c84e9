"""A stand-in for the `terraform` CLI in the sandbox: the same commands and files, no cloud.

Run as `python -m sandbox.terraform_standin ARGS` (or sandbox/bin/terraform). It answers
init, workspace select/new/show/list, plan -out, show -json, apply PLANFILE, output -json, version -json
and state pull. Plans come from the parsed HCL of the working directory and its local modules, diffed
against a Terraform v4 state file kept per backend bucket, prefix and workspace under
$TF_STANDIN_STATE_DIR (default: beside $TF_DATA_DIR), so that a changed variable is an update, a removed
resource a delete, and a changed force-new attribute (name, location, project...) a replace.
`show -json` prints Terraform's JSON plan format, so the runner parses both with the same code.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from sandbox import terraform_apply
from sandbox import terraform_hcl as hcl
from sandbox.terraform_variables import refuse_undeclared

VERSION = "1.11.0"
# Attributes whose change makes the provider destroy and re-create the object (Terraform's ForceNew).
FORCE_NEW = frozenset({"name", "location", "project", "region", "account_id", "secret_id", "key", "project_id"})


class Fail(Exception):
    """An error Terraform would print in its box; exit code 1."""


def _data_dir() -> Path:
    return Path(os.environ.get("TF_DATA_DIR") or ".terraform")


def _state_root() -> Path:
    configured = os.environ.get("TF_STANDIN_STATE_DIR")
    return Path(configured) if configured else _data_dir().resolve().parent / "standin-buckets"


def _settings() -> dict[str, Any]:
    path = _data_dir() / "standin.json"
    if not path.exists():
        raise Fail('Backend initialization required, please run "terraform init"')
    return json.loads(path.read_text(encoding="utf-8"))


def _workspace() -> str:
    path = _data_dir() / "environment"  # where Terraform itself keeps the selected workspace
    return path.read_text(encoding="utf-8").strip() if path.exists() else "default"


def _state_path(workspace: str | None = None) -> Path:
    backend = _settings()["backend"]
    bucket = str(backend.get("bucket", "local"))
    prefix = str(backend.get("prefix", "default"))
    return _state_root() / bucket / prefix / f"{workspace or _workspace()}.tfstate"


def _read_state(workspace: str | None = None) -> dict[str, Any]:
    path = _state_path(workspace)
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"version": 4, "terraform_version": VERSION, "serial": 0, "lineage": "", "outputs": {}, "resources": []}


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(temp, path)


def _flags(args: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """`-name=value` and bare `-name` flags by name, and the positional arguments."""
    flags: dict[str, list[str]] = {}
    positional: list[str] = []
    for arg in args:
        if arg.startswith("-"):
            name, _, value = arg.lstrip("-").partition("=")
            flags.setdefault(name, []).append(value)
        else:
            positional.append(arg)
    return flags, positional


# -- commands ----------------------------------------------------------------------------------------

def cmd_version(args: list[str]) -> None:
    if "-json" in args:
        print(json.dumps({"terraform_version": VERSION, "platform": "sandbox_standin", "provider_selections": {},
                          "terraform_outdated": False}))
    else:
        print(f"Terraform v{VERSION} (opsconsole sandbox stand-in)")


def cmd_init(args: list[str]) -> None:
    flags, _ = _flags(args)
    module = hcl.load_module(Path.cwd())
    backend: dict[str, Any] = dict(module.backend[1]) if module.backend else {}
    if flags.get("backend") == ["false"]:
        backend = {}
    for item in flags.get("backend-config", []):
        if "=" in item and not Path(item).exists():
            key, _, value = item.partition("=")
            backend[key] = value
        else:
            path = Path(item)
            if not path.exists():
                raise Fail(f"Failed to read file: the file {item!r} could not be read")
            backend.update(hcl.parse_file(path))
    for name in module.modules:  # modules must exist and parse, as `terraform init` installs and loads them
        hcl.load_module((Path.cwd() / str(module.modules[name].get("source", ""))).resolve())
    _write_json(_data_dir() / "standin.json", {"backend": backend, "kind": module.backend[0] if module.backend else
                                               "local"})
    print("Terraform has been successfully initialized!")


def cmd_workspace(args: list[str]) -> None:
    flags, positional = _flags(args)
    action = positional[0] if positional else "show"
    if action == "show":
        print(_workspace())
        return
    if action == "list":
        directory = _state_path().parent
        names = {"default", *(p.stem for p in directory.glob("*.tfstate"))} if directory.exists() else {"default"}
        for name in sorted(names):
            print(("* " if name == _workspace() else "  ") + name)
        return
    if len(positional) < 2:
        raise Fail(f"Expected a single argument: NAME (workspace {action})")
    name = positional[1]
    exists = name == "default" or _state_path(name).exists()
    if action == "select" and not exists and flags.get("or-create") in (["true"], [""]):
        action = "new"
    if action == "select" and not exists:
        raise Fail(f'Workspace "{name}" doesn\'t exist.')
    if action == "new":
        if exists:
            raise Fail(f'Workspace "{name}" already exists')
        _write_json(_state_path(name), {**_read_state(name), "lineage": str(uuid.uuid4())})
    elif action != "select":
        raise Fail(f"unknown workspace command {action!r}")
    (_data_dir() / "environment").write_text(name, encoding="utf-8")
    print(f'Switched to workspace "{name}".')


def _state_objects(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for resource in state.get("resources", []):
        if resource.get("mode") != "managed":
            continue
        base = f"{resource['type']}.{resource['name']}"
        if resource.get("module"):
            base = f"{resource['module']}.{base}"
        for instance in resource.get("instances", []):
            key = instance.get("index_key")
            address = base if key is None else f"{base}[{json.dumps(key)}]"
            found[address] = {"resource": resource, "instance": instance}
    return found


def _change(address: str, rtype: str, name: str, module: str, index: Any, before: Any, after: Any) -> dict[str, Any]:
    if before is None:
        actions, reason = ["create"], None
    elif after is None:
        actions, reason = ["delete"], "delete_because_no_resource_config"
    elif before == after:
        actions, reason = ["no-op"], None
    elif any(before.get(key) != after.get(key) for key in FORCE_NEW if key in before or key in after):
        actions, reason = ["delete", "create"], "replace_because_cannot_update"
    else:
        actions, reason = ["update"], None
    change: dict[str, Any] = {
        "address": address, "mode": "managed", "type": rtype, "name": name,
        "provider_name": f"registry.terraform.io/hashicorp/{rtype.split('_')[0]}",
        "change": {"actions": actions, "before": before, "after": after, "after_unknown": {},
                   "before_sensitive": False, "after_sensitive": False},
    }
    if module:
        change["module_address"] = module
    if index is not None:
        change["index"] = index
    if reason:
        change["action_reason"] = reason
    if actions == ["delete", "create"]:
        change["change"]["replace_paths"] = [[key] for key in sorted(FORCE_NEW) if before.get(key) != after.get(key)]
    return change


def cmd_plan(args: list[str]) -> None:
    flags, _ = _flags(args)
    out = (flags.get("out") or [""])[0]
    settings = _settings()
    sources: dict[str, str] = {}
    variables = hcl.read_variables(Path.cwd(), [Path(p) for p in flags.get("var-file", [])], flags.get("var", []),
                                   sources)
    refuse_undeclared(hcl.load_module(Path.cwd()), variables, sources)
    desired = {r.address: r for r in hcl.desired_resources(Path.cwd(), variables)}
    state = _read_state()
    current = _state_objects(state)
    changes = []
    for address in sorted(set(desired) | set(current)):
        want, have = desired.get(address), current.get(address)
        if want is not None:
            rtype, name, module, index = want.type, want.name, want.module, want.index
        else:
            assert have is not None
            resource = have["resource"]
            rtype, name, module = resource["type"], resource["name"], resource.get("module", "")
            index = have["instance"].get("index_key")
        before = have["instance"]["attributes"] if have else None
        changes.append(_change(address, rtype, name, module, index, before, want.values if want else None))
    plan = {"standin_plan": 1, "workspace": _workspace(), "backend": settings["backend"],
            "prior_serial": state["serial"], "prior_lineage": state["lineage"], "resource_changes": changes,
            "outputs": hcl.root_outputs(Path.cwd(), variables), "variables": variables}
    if out:
        _write_json(Path(out), plan)
    counts = {a: sum(1 for c in changes if a in c["change"]["actions"]) for a in ("create", "update", "delete")}
    if not any(counts.values()):
        print("No changes. Your infrastructure matches the configuration.")
    else:
        print(f"Plan: {counts['create']} to add, {counts['update']} to change, {counts['delete']} to destroy.")


def _load_plan(path: str) -> dict[str, Any]:
    try:
        plan = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise Fail(f"Failed to read the given file as a state or plan file: {path}") from None
    if plan.get("standin_plan") != 1:
        raise Fail(f"Failed to read the given file as a state or plan file: {path}")
    return plan


def cmd_show(args: list[str]) -> None:
    flags, positional = _flags(args)
    if "json" not in flags or not positional:
        raise Fail("the stand-in shows saved plans only: show -json PLANFILE")
    plan = _load_plan(positional[0])
    print(json.dumps({
        "format_version": "1.2", "terraform_version": VERSION,
        "resource_changes": [terraform_apply.expand_change(c) for c in plan["resource_changes"]],
        "output_changes": {name: {"actions": ["update"], "after": value} for name, value in plan["outputs"].items()},
        "variables": {name: {"value": value} for name, value in plan["variables"].items()},
        "prior_state": {"format_version": "1.0"}, "configuration": {}, "errored": False,
    }))


def cmd_apply(args: list[str]) -> None:
    _, positional = _flags(args)
    if not positional:
        raise Fail("the stand-in applies saved plans only: apply PLANFILE")
    plan = _load_plan(positional[0])
    state = _read_state(plan["workspace"])
    if (state["serial"], state["lineage"]) != (plan["prior_serial"], plan["prior_lineage"]):
        raise Fail("Saved plan is stale: the state changed since this plan was created; plan again")
    resources: dict[tuple[str, str, str], dict[str, Any]] = {}
    counts = {"create": 0, "update": 0, "delete": 0}
    for change in plan["resource_changes"]:
        for action in change["change"]["actions"]:
            if action in counts:
                counts[action] += 1
        after = change["change"]["after"]
        if after is None:
            continue
        key = (change.get("module_address", ""), change["type"], change["name"])
        resource = resources.setdefault(key, {"mode": "managed", "type": change["type"], "name": change["name"],
                                              "provider": f'provider["{change["provider_name"]}"]', "instances": []})
        if key[0]:
            resource["module"] = key[0]
        instance: dict[str, Any] = {"schema_version": 0, "attributes": after}
        if "index" in change:
            instance["index_key"] = change["index"]
        resource["instances"].append(instance)
    said = terraform_apply.apply_cloud_run(plan["resource_changes"])  # the cloud first, then the state
    monitoring = terraform_apply.apply_monitoring(plan["resource_changes"], plan["variables"])
    changed = any(counts.values()) or state["serial"] == 0
    # Like Terraform, a state that did not change is not written again, so its serial stays.
    new_state = {"version": 4, "terraform_version": VERSION, "serial": state["serial"] + (1 if changed else 0),
                 "lineage": state["lineage"] or str(uuid.uuid4()),
                 "outputs": {name: {"value": value, "type": "string"} for name, value in plan["outputs"].items()},
                 "resources": list(resources.values())}
    _write_json(_state_path(plan["workspace"]), new_state)
    print(f"Apply complete! Resources: {counts['create']} added, {counts['update']} changed, "
          f"{counts['delete']} destroyed.")
    for line in said:
        print(f"Cloud Run: {line}")
    for line in monitoring:
        print(f"Monitoring: {line}")


def cmd_output(args: list[str]) -> None:
    outputs = _read_state().get("outputs", {})
    if "-json" in args:
        print(json.dumps({name: {"sensitive": False, **value} for name, value in outputs.items()}))
    else:
        for name, value in outputs.items():
            print(f"{name} = {json.dumps(value['value'])}")


def cmd_state(args: list[str]) -> None:
    if args[:1] != ["pull"]:
        raise Fail("the stand-in supports `state pull` only")
    print(json.dumps(_read_state(), indent=2))


COMMANDS = {"version": cmd_version, "init": cmd_init, "workspace": cmd_workspace, "plan": cmd_plan,
            "show": cmd_show, "apply": cmd_apply, "output": cmd_output, "state": cmd_state}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # Global options Terraform takes before the command (the runner passes none, a person might).
    while args and args[0].startswith("-chdir="):
        os.chdir(args.pop(0).partition("=")[2])
    if not args or args[0] not in COMMANDS:
        print(f"Usage: terraform [global options] <subcommand> [args]; known: {', '.join(COMMANDS)}", file=sys.stderr)
        return 127 if args else 1
    try:
        COMMANDS[args[0]](args[1:])
    except (Fail, hcl.ConfigError, terraform_apply.ApplyFailed) as exc:
        print(f"\u2577\n\u2502 Error: {exc}\n\u2502\n\u2575", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
