"""docker-compose.yml is valid Compose and consistent with the repository and local mode.

Docker cannot run on the machines that test storeheat, so this checks what can be checked
without it: the file (interpolated the way Compose does, with .env.example) validates against
the Compose Specification's JSON schema; every build context, Dockerfile ``COPY`` source and
bind-mounted path exists; every variable is either defaulted or required and documented in
.env.example; secrets have no defaults; the STOREHEAT_* names and their defaults are the local
mode's (docs/CONVENTIONS.md); and the storeheat commands the containers run parse with the
real CLI.

The schema is the copy vendored by the ``check-jsonschema`` package (compose-spec project,
Apache-2.0), so no network is needed.
"""

from __future__ import annotations

import copy
import importlib
import importlib.resources
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from storeheat.cli import SUBCOMMANDS, build_parser

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
CONVENTIONS = ROOT / "docs" / "CONVENTIONS.md"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; $$ escapes.
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}")
_SECRET = re.compile(r"PASSWORD|SECRET|TOKEN|FERNET|_KEY$")


def compose_schema() -> dict[str, Any]:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text())
    return schema


def env_example() -> tuple[dict[str, str], set[str]]:
    """Assignments in .env.example, and the names only mentioned in comments (optional)."""
    values: dict[str, str] = {}
    commented: set[str] = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        if m := re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line):
            values[m[1]] = m[2]
        elif m := re.match(r"^#\s*([A-Z][A-Z0-9_]*)=", line):
            commented.add(m[1])
    return values, commented


def references(text: str) -> Iterator[tuple[str, str | None, str | None]]:
    """(name, operator, argument) of every interpolation in ``text``."""
    for m in _VAR.finditer(text):
        if m[0] != "$$":
            yield m[1], m[2], m[3]


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable interpolation of every string in a loaded document."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        if m[0] == "$$":
            return "$"
        name, op, arg = m[1], m[2], m[3] or ""
        have = env.get(name)
        if op == ":-":
            return have if have else interpolate(arg, env)
        if op == "-":
            return have if have is not None else interpolate(arg, env)
        if op in (":?", "?") and (have is None or (op == ":?" and not have)):
            raise KeyError(f"{name}: {arg}")
        return have or ""

    return _VAR.sub(sub, value)


def conventions_table() -> dict[str, str]:
    """Variable name -> local default text, from the table in docs/CONVENTIONS.md."""
    table: dict[str, str] = {}
    for line in CONVENTIONS.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3:
            continue
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]):
            table[name] = cells[2]
    return table


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return doc


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    values, _ = env_example()
    doc: dict[str, Any] = interpolate(raw, values)
    return doc


def services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = doc["services"]
    return result


# -- the Compose specification ----------------------------------------------------------


def test_compose_file_validates_against_the_compose_spec(compose: dict[str, Any]) -> None:
    jsonschema.validate(compose, compose_schema())


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", "kafka", "imagee"), "apache/kafka"),  # unknown key
        (("services", "kafka", "ports"), "39092:39092"),  # must be a list
        (("services", "worker", "depends_on"), {"kafka": {"condition": "healthy"}}),
        (("volumes", "kafka-data"), ["not", "a", "mapping"]),
    ],
)
def test_the_schema_check_catches_broken_files(
    compose: dict[str, Any], path: tuple[str, ...], value: object
) -> None:
    broken = copy.deepcopy(compose)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, compose_schema())


def test_all_services_of_the_stack_are_there(compose: dict[str, Any]) -> None:
    names = set(services(compose))
    assert {
        "kafka", "kafka-topics", "postgres", "minio", "minio-buckets", "spark-master",
        "spark-worker", "airflow-init", "airflow-api-server", "airflow-scheduler",
        "airflow-dag-processor", "airflow-triggerer", "label-studio", "worker",
    } <= names


def test_dependencies_exist_and_one_shots_do_not_restart(compose: dict[str, Any]) -> None:
    svcs = services(compose)
    for name, svc in svcs.items():
        deps = svc.get("depends_on", {})
        conditions = deps if isinstance(deps, dict) else dict.fromkeys(deps, {})
        for dep, spec in conditions.items():
            assert dep in svcs, f"{name} depends on unknown service {dep}"
            if spec.get("condition") == "service_completed_successfully":
                assert svcs[dep].get("restart") == "no", f"{dep} is a one-shot job"
            if spec.get("condition") == "service_healthy":
                assert "healthcheck" in svcs[dep], f"{dep} has no healthcheck"


# -- files the compose file and the Dockerfile reference -----------------------------------


def _bind_mounts(svc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for vol in svc.get("volumes", []):
        if isinstance(vol, str):
            source, _, rest = vol.partition(":")
            target = rest.split(":")[0]
        else:
            source, target = vol.get("source", ""), vol["target"]
        yield source, target


def test_build_contexts_and_dockerfiles_exist(compose: dict[str, Any]) -> None:
    built = [s["build"] for s in services(compose).values() if "build" in s]
    assert built, "the storeheat image must be built from the repository"
    for build in built:
        context = (ROOT / build["context"]).resolve()
        assert context.is_dir(), context
        assert (context / build.get("dockerfile", "Dockerfile")).is_file()


def test_dockerfile_copies_only_what_exists_and_is_not_ignored() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    copies = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            *sources, _dest = shlex.split(line)[1:]
            copies += [s for s in sources if not s.startswith("--")]
    assert copies
    for source in copies:
        assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
        assert source.rstrip("/") not in ignored, f"{source} is excluded by .dockerignore"
    assert ".state" in ignored  # the local virtualenv must never enter the build context


def test_every_mounted_path_exists_and_named_volumes_are_declared(
    compose: dict[str, Any],
) -> None:
    declared = set(compose.get("volumes", {}))
    for name, svc in services(compose).items():
        for source, target in _bind_mounts(svc):
            assert target.startswith("/"), f"{name}: container path {target!r}"
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"


def test_scripts_run_from_mounts_exist(compose: dict[str, Any]) -> None:
    checked = 0
    for name, svc in services(compose).items():
        mounts = [(s, t) for s, t in _bind_mounts(svc) if s.startswith(".")]
        for arg in svc.get("command", []):
            for source, target in mounts:
                if isinstance(arg, str) and arg.startswith(target + "/"):
                    host = ROOT / source / arg[len(target) + 1:]
                    assert host.is_file(), f"{name} runs {arg}, but {host} does not exist"
                    checked += 1
    assert checked >= 2  # the Airflow init script and the bucket script


# -- variables --------------------------------------------------------------------------


def test_required_variables_are_in_env_example_and_secrets_have_no_default() -> None:
    text = COMPOSE.read_text()
    values, commented = env_example()
    refs = list(references(text))
    assert refs
    for name, op, _arg in refs:
        if op in (":?", "?"):
            assert name in values, f"{name} is required but missing from .env.example"
        else:
            assert op in (":-", "-"), f"${{{name}}} has neither a default nor an error"
            assert name in values or name in commented, f"{name} undocumented in .env.example"
        if _SECRET.search(name):
            assert op == ":?", f"secret {name} must be required, never defaulted"
    used = {name for name, _, _ in refs}
    assert set(values) <= used, f"unused in compose: {set(values) - used}"
    for name, value in values.items():
        if _SECRET.search(name):
            assert value == "change-me", f".env.example must not hold a real {name}"


def test_env_example_values_satisfy_compose(raw: dict[str, Any]) -> None:
    values, _ = env_example()
    missing = dict(values)
    missing.pop("POSTGRES_PASSWORD")
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        interpolate(raw, missing)


def test_storeheat_variables_and_defaults_are_the_local_modes(raw: dict[str, Any]) -> None:
    table = conventions_table()
    assert "STOREHEAT_KAFKA_PORT" in table
    text = COMPOSE.read_text()
    names = set(re.findall(r"\b(STOREHEAT_[A-Z0-9_]+|KAFKA_BOOTSTRAP_SERVERS)\b", text))
    assert names - {"STOREHEAT_IMAGE_TAG"} <= set(table), (
        f"not in docs/CONVENTIONS.md: {names - set(table) - {'STOREHEAT_IMAGE_TAG'}}"
    )
    defaults: dict[str, set[str]] = {}
    for name, op, arg in references(text):
        if op == ":-" and arg is not None:
            defaults.setdefault(name, set()).add(arg)
    for name, seen in defaults.items():
        assert len(seen) == 1, f"{name} has different defaults: {seen}"
        local = table.get(name, "")
        port = next(iter(seen))
        if name in table and port.isdigit():
            assert port in re.findall(r"\d+", local), f"{name}: {port} vs local {local}"


def test_local_port_constants_match_the_compose_defaults() -> None:
    from storeheat.services import kafka

    text = COMPOSE.read_text()
    assert f"${{STOREHEAT_KAFKA_PORT:-{kafka.DEFAULT_PORT}}}" in text
    airflow = importlib.import_module("storeheat.services.airflow")
    assert f"${{STOREHEAT_AIRFLOW_PORT:-{airflow.DEFAULT_PORT}}}" in text


def test_containers_use_the_compose_kafka_and_no_auto_created_topics(
    compose: dict[str, Any],
) -> None:
    svcs = services(compose)
    assert svcs["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for name, svc in svcs.items():
        if "build" in svc:
            assert svc["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092", name


# -- commands ------------------------------------------------------------------------------


def test_storeheat_commands_parse_with_the_real_cli(compose: dict[str, Any]) -> None:
    """Each ``storeheat ...`` command must name a registered subcommand; those whose module is
    in this checkout must parse. The topic set-up must be the local mode's own command."""
    parser = build_parser()
    commands = [s["command"] for s in services(compose).values()
                if s.get("command", [None])[0] == "storeheat"]
    assert ["storeheat", "services", "up", "kafka"] in commands
    for command in commands:
        sub = command[1]
        assert sub in SUBCOMMANDS, f"{command}: no such storeheat subcommand"
        try:
            importlib.import_module(SUBCOMMANDS[sub])
        except ModuleNotFoundError:
            continue  # that part is being written; registration is checked above
        args = parser.parse_args(command[1:])
        assert callable(args.func)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "RUN storeheat services fetch" in dockerfile
    assert callable(parser.parse_args(["services", "fetch"]).func)
