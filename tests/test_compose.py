"""docker-compose.yml and the Dockerfile agree with each other and with core/settings.py.

Docker need not run: these read the files, so a renamed setting or a missing service fails here.
"""

from __future__ import annotations

import re
import secrets
import tomllib
from typing import Any

import yaml

from core.settings import PROJECT_ROOT, Settings

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
DOCKERFILE = PROJECT_ROOT / "Dockerfile"

FACET_SERVICES = ("migrate", "api", "worker")
ONE_SHOT_JOBS = {"temporal-admin-tools", "temporal-create-namespace", "migrate"}
EXPECTED = {"postgres", "temporal", "temporal-ui", *ONE_SHOT_JOBS, *FACET_SERVICES}
# Settings whose defaults only make sense on a developer's machine.
REQUIRED_IN_PRODUCTION = {"environment", "database_url", "temporal_address", "secret_key"}
# `${VAR}` names the compose file may read that are not Settings fields (none so far).
DOCUMENTED_VARIABLES: set[str] = set()


def strings(node: Any) -> list[str]:
    """Every string value anywhere in a parsed YAML document."""
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return [node] if isinstance(node, str) else []


def interpolated(text: str) -> list[str]:
    """Variable names compose substitutes in `text` (`$$` is an escaped dollar, not a variable)."""
    return [m[1] for m in re.finditer(r"\$\$|\$\{?([A-Za-z_]\w*)", text) if m[1]]


def resolve(value: str, given: dict[str, str]) -> str:
    """`value` as compose would interpolate it, with `given` as the shell environment."""

    def substitute(m: re.Match[str]) -> str:
        return given.get(m[1], m[3] if m[2] == ":-" else "")

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", substitute, value)


def test_expected_services_exist_and_none_uses_auto_setup() -> None:
    assert set(SERVICES) >= EXPECTED, f"missing services: {EXPECTED - set(SERVICES)}"
    for name, service in SERVICES.items():
        image = service.get("image", "")
        assert "temporalio/auto-setup" not in image, f"{name}: auto-setup is deprecated"
        if image:
            assert re.search(r":\d", image), f"{name}: pin {image!r} to a version"


def test_depends_on_names_services_and_waits_for_jobs_to_finish() -> None:
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown service {dependency}"
            if dependency in ONE_SHOT_JOBS:
                assert rule["condition"] == "service_completed_successfully", (name, dependency)


def test_facet_environment_names_only_settings_and_sets_production_ones() -> None:
    fields = set(Settings.model_fields)
    assert fields >= REQUIRED_IN_PRODUCTION
    for name in FACET_SERVICES:
        names = {key.lower() for key in SERVICES[name]["environment"]}
        assert names <= fields, f"{name}: not settings: {names - fields}"
        if name != "migrate":
            assert names >= REQUIRED_IN_PRODUCTION, (
                f"{name} misses {REQUIRED_IN_PRODUCTION - names}"
            )


def test_interpolations_refer_to_settings_or_documented_variables() -> None:
    known = {field.upper() for field in Settings.model_fields} | DOCUMENTED_VARIABLES
    used = {name for text in strings(COMPOSE) for name in interpolated(text)}
    assert used <= known, f"unknown variables: {used - known}"
    secret_key = SERVICES["api"]["environment"]["SECRET_KEY"]
    assert secret_key.startswith("${SECRET_KEY:?"), "SECRET_KEY must be required, not defaulted"


def test_facet_services_build_the_root_dockerfile_whose_cmd_runs_the_api() -> None:
    for name in FACET_SERVICES:
        build = SERVICES[name]["build"]
        build = build if isinstance(build, dict) else {"context": build}
        assert build["context"] == ".", name
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile", name
    assert DOCKERFILE.is_file()
    cmd = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("CMD")]
    assert len(cmd) == 1 and "api.app:create_app" in cmd[0] and "--factory" in cmd[0], cmd


def test_the_image_holds_every_package_facet_installs_compiled() -> None:
    """The image copies each package pyproject.toml packages (the worker imports them all)
    and compiles them, since it runs with PYTHONDONTWRITEBYTECODE."""
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    packages = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    modules = set(pyproject["tool"]["setuptools"]["py-modules"])
    lines = DOCKERFILE.read_text().splitlines()
    copied = {name for line in lines if line.startswith("COPY ") for name in line.split()[1:-1]}
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"
    assert {f"{m}.py" for m in modules} <= copied
    compile_line = next(line for line in lines if "compileall" in line)
    assert packages <= set(compile_line.split()), compile_line


def test_worker_runs_worker_py_and_outlives_its_graceful_shutdown() -> None:
    worker = SERVICES["worker"]
    command = worker["command"]
    assert "worker.py" in (command if isinstance(command, str) else " ".join(command))
    grace = worker["environment"].get("WORKER_GRACEFUL_SHUTDOWN_SECONDS")
    grace = (
        float(grace) if grace else Settings.model_fields["worker_graceful_shutdown_seconds"].default
    )
    stop = re.fullmatch(r"(\d+)s", worker["stop_grace_period"])
    assert stop and int(stop[1]) > grace, "docker must not kill the worker mid-shutdown"


def test_api_environment_is_valid_production_settings() -> None:
    shell = {"SECRET_KEY": secrets.token_urlsafe(32)}
    environment = SERVICES["api"]["environment"]
    values: dict[str, Any] = {
        name.lower(): resolve(str(value), shell) for name, value in environment.items()
    }
    settings = Settings(_env_file=None, **values)
    assert settings.environment == "production"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.secret_key.get_secret_value() == shell["SECRET_KEY"]


def test_every_long_running_service_restarts_by_itself_and_one_shot_jobs_only_on_failure():
    """Compose is the supervisor there: a crashed API, worker or Temporal comes back."""
    for name, service in SERVICES.items():
        policy = service.get("restart", "no")
        if name in ONE_SHOT_JOBS:
            assert policy.startswith("on-failure"), (name, policy)
        else:
            assert policy in {"unless-stopped", "always"}, (name, policy)


def test_the_worker_runs_without_valigara_until_its_key_is_given(monkeypatch) -> None:
    """Compose hands the worker every variable, set or empty; an empty one is unset."""
    environment = SERVICES["worker"]["environment"]

    def worker_settings(shell: dict[str, str]) -> Settings:
        for name, value in environment.items():
            monkeypatch.setenv(name, resolve(str(value), shell))
        return Settings(_env_file=None)

    secret = {"SECRET_KEY": secrets.token_urlsafe(32)}
    assert not worker_settings(secret).valigara_configured
    branch = "7f0c2a8e-4a56-4b8e-9a51-0c1d2e3f4a5b"
    given = {**secret, "VALIGARA_ACCESS_KEY": "vk-" + secrets.token_hex(8),
             "VALIGARA_STORE_ID": branch, "VALIGARA_SOLD_ACTION": "revise"}  # fmt: skip
    settings = worker_settings(given)
    assert settings.valigara_configured and str(settings.valigara_store_id) == branch
    assert settings.valigara_sold_action == "revise"
