"""The container stack (docker-compose.yml, Dockerfile, .dockerignore) agrees with the code.

No Docker engine is needed: these read the files and resolve every command they run against
the project itself, so a renamed module, command or service breaks a test here instead of a
deployment.
"""

import fnmatch
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery.app.utils import find_app
from celery.bin.celery import celery as celery_cli
from django.core.management import get_commands
from gunicorn.util import import_app  # type: ignore[import-untyped]

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# The stack DESIGN.md describes: web, worker, beat, postgres, redis, mail.
DESIGN_SERVICES = {"web", "worker", "beat", "postgres", "redis", "mail"}
APP_SERVICES = {name for name, service in SERVICES.items() if "build" in service}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    lines = [
        line
        for line in (REPO / "Dockerfile").read_text().splitlines()
        if not line.lstrip().startswith("#")
    ]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [
        (keyword.upper(), rest.strip())
        for keyword, _, rest in (line.strip().partition(" ") for line in joined.splitlines())
        if keyword
    ]


def dockerignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def image_cmd() -> list[str]:
    cmds = [args for keyword, args in dockerfile_instructions() if keyword == "CMD"]
    assert cmds, "the Dockerfile has no CMD"
    cmd: list[str] = json.loads(cmds[-1])
    return cmd


def effective_command(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    if command is None:
        return image_cmd()
    return shlex.split(command) if isinstance(command, str) else list(command)


def effective_commands(service: dict[str, Any]) -> list[list[str]]:
    """The commands a service runs: one, or each of a ``sh -c "a && b && c"`` chain."""
    argv = effective_command(service)
    if argv[:2] != ["sh", "-c"]:
        return [argv]
    script = argv[2]
    assert not set(script) & set("|;()&{}`$") - {"&"}, f"only && chains are checked: {script}"
    return [shlex.split(part) for part in script.split("&&")]


def depends_on(service: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The long form of depends_on, whichever form the file uses."""
    rules = service.get("depends_on") or {}
    if isinstance(rules, list):
        return {target: {"condition": "service_started"} for target in rules}
    return rules


def celery_app_and_subcommand(argv: list[str]) -> tuple[str, str]:
    assert "-A" in argv, f"{argv}: name the Celery app with -A"
    after_app = argv[argv.index("-A") + 2 :]
    return argv[argv.index("-A") + 1], next(arg for arg in after_app if not arg.startswith("-"))


def command_problems(argv: list[str]) -> list[str]:
    """Why argv would not start real code of this project (empty when it would)."""
    program = argv[0]
    if program == "python" and argv[1:2] == ["manage.py"]:
        if not (REPO / "manage.py").is_file():
            return ["manage.py is missing"]
        if argv[2] not in get_commands():
            return [f"manage.py has no {argv[2]!r} command"]
        return []
    if program == "gunicorn":
        target = next(arg for arg in argv[1:] if not arg.startswith("-") and ":" in arg)
        module, _, attribute = target.partition(":")
        module_file = REPO / (module.replace(".", "/") + ".py")
        if not module_file.is_file():
            return [f"gunicorn target {target!r}: {module_file.relative_to(REPO)} is missing"]
        if not callable(import_app(target)):
            return [f"gunicorn target {target!r}: {attribute} is not a WSGI callable"]
        return []
    if program == "celery":
        app_name, subcommand = celery_app_and_subcommand(argv)
        app = find_app(app_name)
        problems = []
        if app.main != "clearance":
            problems.append(f"celery -A {app_name} finds the app {app.main!r}, not clearance")
        if subcommand not in celery_cli.commands:
            problems.append(f"celery has no {subcommand!r} command")
        return problems
    return [f"unknown program {program!r}: teach tests/test_compose.py how to check it"]


def test_every_service_the_design_names_is_in_the_stack():
    missing = DESIGN_SERVICES - set(SERVICES)
    assert not missing, f"missing services: {missing}"


def test_every_app_service_builds_from_the_dockerfile_in_the_repository():
    assert {"web", "worker", "beat"} <= APP_SERVICES
    for name in APP_SERVICES:
        build = SERVICES[name]["build"]
        if isinstance(build, str):
            build = {"context": build}
        dockerfile = REPO / build["context"] / build.get("dockerfile", "Dockerfile")
        assert dockerfile.resolve() == (REPO / "Dockerfile"), f"{name} builds {dockerfile}"
        assert dockerfile.is_file(), f"{name} builds from {dockerfile}, which does not exist"


def test_every_app_service_command_points_at_real_code():
    problems = [
        (name, problem)
        for name in sorted(APP_SERVICES)
        for argv in effective_commands(SERVICES[name])
        for problem in command_problems(argv)
    ]
    assert not problems


def test_web_runs_gunicorn_on_the_port_it_publishes():
    argv = effective_command(SERVICES["web"])
    assert argv[0] == "gunicorn"
    bind_port = argv[argv.index("--bind") + 1].rpartition(":")[2]
    container_ports = {str(port).rpartition(":")[2] for port in SERVICES["web"]["ports"]}
    assert bind_port in container_ports


def test_worker_and_beat_run_the_celery_roles_their_names_say():
    for role in ("worker", "beat"):
        argv = effective_command(SERVICES[role])
        assert argv[0] == "celery"
        assert celery_app_and_subcommand(argv) == ("clearance", role)


def test_every_long_running_service_has_a_healthcheck():
    one_shots = {
        target
        for service in SERVICES.values()
        for target, rule in depends_on(service).items()
        if rule.get("condition") == "service_completed_successfully"
    }
    assert one_shots <= {name for name, s in SERVICES.items() if s.get("restart") == "no"}
    for name, service in SERVICES.items():
        if name in one_shots:
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, f"{name}: {check['test']}"


def test_worker_healthcheck_pings_the_worker_with_a_real_celery_command():
    test = SERVICES["worker"]["healthcheck"]["test"]
    argv = shlex.split(test[1]) if test[0] == "CMD-SHELL" else test[1:]
    assert argv[0] == "celery"
    assert celery_app_and_subcommand(argv) == ("clearance", "inspect")
    assert not command_problems(argv)


def test_depends_on_names_only_services_of_the_stack_and_waits_for_them_properly():
    for name, service in SERVICES.items():
        for target, rule in depends_on(service).items():
            assert target in SERVICES, f"{name} depends on unknown service {target!r}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[target], f"{name} waits on {target}'s health"


def test_app_services_start_only_after_the_migrations_ran():
    migrators = [
        name
        for name in APP_SERVICES
        if effective_commands(SERVICES[name])[0][:3] == ["python", "manage.py", "migrate"]
    ]
    assert len(migrators) == 1, f"exactly one service should migrate, got {migrators}"
    for name in {"web", "worker", "beat"}:
        rule = depends_on(SERVICES[name]).get(migrators[0], {})
        assert rule.get("condition") == "service_completed_successfully", name


def test_app_services_reach_the_other_services_by_their_compose_names():
    env = COMPOSE["x-app-env"]
    for name in APP_SERVICES:
        service_env = SERVICES[name]["environment"]
        assert {key: service_env[key] for key in env} == env, f"{name} diverges from x-app-env"
    assert re.match(r"postgres://[^@]+@postgres:5432/", env["DATABASE_URL"])
    assert env["REDIS_URL"].startswith("redis://redis:6379/")
    assert env["EMAIL_HOST"] == "mail"


def test_compose_sets_only_variables_the_settings_read():
    settings_source = (REPO / "clearance" / "settings.py").read_text()
    unread = [key for key in COMPOSE["x-app-env"] if f'"{key}"' not in settings_source]
    assert not unread, f"clearance/settings.py never reads {unread}"


def test_secret_key_has_no_default_anyone_could_read():
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", COMPOSE["x-app-env"]["SECRET_KEY"])


def test_beat_keeps_its_schedule_on_a_volume():
    argv = effective_command(SERVICES["beat"])
    schedule = Path(argv[argv.index("-s") + 1])
    mounts = {Path(str(volume).split(":")[1]) for volume in SERVICES["beat"]["volumes"]}
    assert any(mount in schedule.parents for mount in mounts), f"{schedule} not under {mounts}"


@pytest.mark.parametrize(
    "instruction",
    [args for keyword, args in dockerfile_instructions() if keyword == "COPY"],
)
def test_dockerfile_copies_only_what_the_repository_or_an_earlier_stage_has(instruction):
    words = shlex.split(instruction)
    options = [word for word in words if word.startswith("--")]
    *sources, _destination = [word for word in words if not word.startswith("--")]
    stage = next((o.partition("=")[2] for o in options if o.startswith("--from=")), None)
    if stage is not None:
        stages = re.findall(r"(?im)^FROM\s+\S+\s+AS\s+(\S+)", (REPO / "Dockerfile").read_text())
        assert stage in stages, f"COPY --from={stage}: no such build stage"
        return
    ignored = dockerignore_patterns()
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), (
            f"COPY {source}: .dockerignore leaves it out of the build context"
        )


def test_build_context_leaves_out_local_environments_data_and_secrets():
    patterns = set(dockerignore_patterns())
    assert {".git", ".venv", "node_modules", ".data", ".env", "build"} <= patterns


def test_the_stack_loads_reference_data_and_fetches_rates_before_the_app_starts():
    """Without regimes and rates every parcel would be held: the migrate job loads them, then
    fetches today's rates (beat fetches them every hour after that)."""
    [migrate] = [
        effective_commands(SERVICES[name])
        for name in APP_SERVICES
        if effective_commands(SERVICES[name])[0][:3] == ["python", "manage.py", "migrate"]
    ]
    assert [argv[2] for argv in migrate] == [
        "migrate",
        "load_reference_data",
        "fetch_exchange_rates",
    ]
    from clearance.celery import app

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"clearance.fetch_exchange_rates", "declarations.reassess_held"} <= tasks


def test_the_stack_pays_through_the_sandbox_only_by_saying_it_is_not_for_production():
    env = COMPOSE["x-app-env"]
    assert env["DEBUG"] == "false"
    assert env.get("PAYMENT_PROVIDER", "sandbox") == "sandbox"
    assert env["PAYMENT_SANDBOX_NOT_FOR_PRODUCTION"] == "true"
