#!/usr/bin/env bash
# Offline validation of the deployment files (CI; needs no Docker engine, no network, no secrets):
#   1. `docker-compose config` renders docker-compose.yml (dummy secret files in a temp dir);
#   2. the rendered stack has the properties the architecture relies on (six relay services from
#      one image, scalable workers, Redis AOF + noeviction, MongoDB replica set, secrets wired);
#   3. the Dockerfile is multi-stage on node:24 and runs as a non-root user.
# Usage: scripts/validate-deploy.sh [compose-file] [Dockerfile] [.dockerignore]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
compose_file="$(realpath "${1:-$root/docker-compose.yml}")"
dockerfile="$(realpath "${2:-$root/Dockerfile}")"
dockerignore="$(realpath -m "${3:-$(dirname "$dockerfile")/.dockerignore}")"

fail() {
  echo "validate-deploy: FAILED: $*" >&2
  exit 1
}

if command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  cat >&2 <<'EOF'
validate-deploy: FAILED: docker-compose is not installed.
  Debian/Ubuntu: sudo apt-get install docker-compose   (or the Docker Compose v2 plugin:
  sudo apt-get install docker-compose-plugin from Docker's repository).
  `docker-compose config` works offline; no Docker engine is needed.
EOF
  exit 1
fi

python=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import yaml' >/dev/null 2>&1; then
    python="$candidate"
    break
  fi
done
[ -n "$python" ] || fail "python3 with PyYAML is required (apt-get install python3-yaml)"
[ -f "$compose_file" ] || fail "compose file not found: $compose_file"
[ -f "$dockerfile" ] || fail "Dockerfile not found: $dockerfile"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/secrets"
for name in master_key admin_token tls_cert.pem tls_key.pem; do
  echo "validate-deploy placeholder" >"$work/secrets/$name"
done
: >"$work/empty.env"

# Deterministic rendering: secrets from the temp dir, no .env file, the file's own defaults.
render() {
  env -u SER_HOSTNAME -u SER_LOG_LEVEL -u SER_DNS_SERVERS -u SER_ADMIN_BIND \
    SER_SECRETS_DIR="$work/secrets" COMPOSE_PROJECT_NAME=validate-deploy \
    "${compose[@]}" --env-file "$work/empty.env" -f "$compose_file" config "$@"
}
if ! render -q 2>"$work/stderr"; then
  cat "$work/stderr" >&2
  fail "\`${compose[*]} config\` rejected $compose_file (see above)"
fi
render >"$work/rendered.yml" 2>"$work/stderr" || { cat "$work/stderr" >&2; fail "cannot render $compose_file"; }

"$python" - "$work/rendered.yml" "$dockerfile" "$dockerignore" "$root" "$compose_file" <<'PY'
import os
import re
import shlex
import sys

import yaml

rendered_path, dockerfile_path, dockerignore_path, root, compose_path = sys.argv[1:6]
RELAY = ["ingress", "scanner", "signer", "egress", "reporting", "admin"]
WORKERS = ["scanner", "signer", "egress", "reporting"]
errors = []


def error(message):
    errors.append(message)


def as_list(value):
    """A command/entrypoint/test as a list of words (compose allows a string or a list)."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(v) for v in value]


def seconds(duration):
    """Compose durations ('30s', '1m30s', '1h') in seconds; None if missing or unparseable."""
    if duration is None:
        return None
    if isinstance(duration, (int, float)):
        return duration
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)", str(duration))
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    return sum(float(n) * scale[u] for n, u in parts) if parts else None


def targets(ports):
    """Container ports a service publishes (short 'ip:host:container/proto' or long syntax)."""
    result = []
    for port in ports or []:
        if isinstance(port, dict):
            result.append(int(str(port.get("target")).split("/")[0]))
        else:
            result.append(int(str(port).split("/")[0].split(":")[-1].split("-")[0]))
    return result


def environment(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def secret_names(service):
    names = []
    for secret in service.get("secrets") or []:
        name = secret if isinstance(secret, str) else secret.get("target") or secret.get("source")
        names.append(str(name).removeprefix("/run/secrets/"))
    return names


def depends_on(service):
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: None for name in deps}
    return {name: (cfg or {}).get("condition") for name, cfg in deps.items()}


# ---------------------------------------------------------------- compose ----
with open(rendered_path) as handle:
    config = yaml.safe_load(handle)
services = config.get("services") or {}

missing = [name for name in RELAY if name not in services]
if missing:
    error(f"compose: relay services missing: {', '.join(missing)}")
present = [name for name in RELAY if name in services]

images = {name: services[name].get("image") for name in present}
if len(set(images.values())) != 1 or None in images.values():
    error(f"compose: relay services must all use one image, found {images}")
builds = {name: str(services[name].get("build")) for name in present if services[name].get("build")}
if len(set(builds.values())) > 1:
    error(f"compose: relay services build from different contexts: {builds}")

for name in present:
    service = services[name]
    entry = f"dist/services/{name}/src/main.js"
    command = as_list(service.get("command"))
    if entry not in command:
        error(f"compose: {name} must run {entry} (command is {command})")
    if not os.path.isfile(os.path.join(root, "services", name, "src", "main.ts")):
        error(f"compose: {name}: services/{name}/src/main.ts does not exist")
    if not service.get("restart"):
        error(f"compose: {name} has no restart policy")
    if service.get("init") is not True:
        error(f"compose: {name} should set init: true (signal forwarding, zombie reaping)")
    deps = depends_on(service)
    for dependency in ("redis", "mongo"):
        if deps.get(dependency) != "service_healthy":
            error(f"compose: {name} must depend on {dependency} with condition: service_healthy")
    env = environment(service)
    # Every *_FILE variable naming /run/secrets/X needs secret X, and no unused secret is mounted.
    wanted = set()
    for variable, value in env.items():
        if variable.endswith("_FILE") and str(value).startswith("/run/secrets/"):
            wanted.add(str(value)[len("/run/secrets/"):])
    mounted = set(secret_names(service))
    if wanted - mounted:
        error(f"compose: {name} reads {sorted(wanted - mounted)} from /run/secrets but does not mount them")
    if mounted - wanted:
        error(f"compose: {name} mounts secrets it does not use: {sorted(mounted - wanted)}")
    if "replicaSet=" not in str(env.get("MONGO_URL", "")):
        error(f"compose: {name}: MONGO_URL must name the replica set (?replicaSet=...)")
    if not str(env.get("REDIS_URL", "")).startswith("redis://redis:"):
        error(f"compose: {name}: REDIS_URL must point at the redis service")

for name in WORKERS:
    if name not in services:
        continue
    if services[name].get("container_name"):
        error(f"compose: worker {name} has container_name (breaks --scale {name}=N)")
    if services[name].get("ports"):
        error(f"compose: worker {name} publishes host ports {services[name]['ports']} (breaks --scale {name}=N)")

if "ingress" in services:
    published = targets(services["ingress"].get("ports"))
    for port in (587, 465):
        if port not in published:
            error(f"compose: ingress must publish {port} (publishes {published})")
    if (seconds(services["ingress"].get("stop_grace_period")) or 10) < 30:
        error("compose: ingress needs stop_grace_period >= 30s to drain SMTP sessions")
if "egress" in services and (seconds(services["egress"].get("stop_grace_period")) or 10) < 30:
    error("compose: egress needs stop_grace_period >= 30s to finish deliveries")
if "admin" in services:
    if 8080 not in targets(services["admin"].get("ports")):
        error("compose: admin must publish 8080")
    test = " ".join(as_list((services["admin"].get("healthcheck") or {}).get("test")))
    if "/readyz" not in test:
        error(f"compose: admin needs a healthcheck on /readyz (test is {test!r})")
if "scanner" in services and depends_on(services["scanner"]).get("clamav") != "service_healthy":
    error("compose: scanner must depend on clamav with condition: service_healthy")


def volume_targets(service):
    result = []
    for volume in service.get("volumes") or []:
        result.append(volume.get("target") if isinstance(volume, dict) else str(volume).split(":")[1])
    return result


redis = services.get("redis")
if redis is None:
    error("compose: redis service missing")
else:
    command = " ".join(as_list(redis.get("command")))
    if not re.search(r"--appendonly\s+yes\b", command):
        error(f"compose: redis must run with --appendonly yes (command is {command!r})")
    if not re.search(r"--maxmemory-policy\s+noeviction\b", command):
        error(f"compose: redis must run with --maxmemory-policy noeviction, BullMQ requires it (command is {command!r})")
    if "/data" not in volume_targets(redis):
        error("compose: redis needs a volume on /data (AOF)")
    if not redis.get("healthcheck"):
        error("compose: redis needs a healthcheck (relay services wait for service_healthy)")

mongo = services.get("mongo")
if mongo is None:
    error("compose: mongo service missing")
else:
    command = as_list(mongo.get("command"))
    replset = None
    for index, word in enumerate(command):
        if word == "--replSet" and index + 1 < len(command):
            replset = command[index + 1]
        elif word.startswith("--replSet="):
            replset = word.split("=", 1)[1]
    if not replset:
        error(f"compose: mongo must run as a replica set (--replSet), command is {command}")
    else:
        for name in present:
            if f"replicaSet={replset}" not in str(environment(services[name]).get("MONGO_URL", "")):
                error(f"compose: {name}: MONGO_URL must use replicaSet={replset}")
    if not mongo.get("healthcheck"):
        error("compose: mongo needs a healthcheck that initiates the replica set")
    if "/data/db" not in volume_targets(mongo):
        error("compose: mongo needs a volume on /data/db")
    for volume in mongo.get("volumes") or []:
        source = volume.get("source") if isinstance(volume, dict) else str(volume).split(":")[0]
        kind = volume.get("type") if isinstance(volume, dict) else ("bind" if source.startswith("/") else "volume")
        if kind == "bind" and os.path.realpath(os.path.dirname(compose_path)) == root and not os.path.exists(source):
            error(f"compose: mongo bind-mounts {source}, which does not exist")

clamav = services.get("clamav")
if clamav is None:
    error("compose: clamav service missing")
else:
    if not str(clamav.get("image", "")).startswith("clamav/clamav"):
        error(f"compose: clamav should use the clamav/clamav image (has freshclam), not {clamav.get('image')}")
    if clamav.get("ports"):
        error("compose: clamav must not publish host ports (clamd has no authentication)")
    if "/var/lib/clamav" not in volume_targets(clamav):
        error("compose: clamav needs a volume on /var/lib/clamav (signatures)")
    for name in present:
        if environment(services[name]).get("SER_CLAMD_HOST") != "clamav":
            error(f"compose: {name}: SER_CLAMD_HOST must be clamav")
for name in ("redis", "mongo"):
    if services.get(name, {}).get("ports"):
        error(f"compose: {name} must not publish host ports")

# ------------------------------------------------------------- Dockerfile ----
with open(dockerfile_path) as handle:
    text = re.sub(r"\\\n", " ", handle.read())
instructions = []
for line in text.splitlines():
    stripped = line.strip()
    if stripped and not stripped.startswith("#"):
        keyword, _, rest = stripped.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))

stages = []  # dicts: name, base, user, entrypoint, cmd, env
for keyword, rest in instructions:
    if keyword == "FROM":
        words = [w for w in rest.split() if not w.startswith("--")]
        base = words[0]
        name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
        parent = next((s for s in stages if s["name"] and s["name"] == base), None)
        if parent is None and not re.match(r"^(docker\.io/)?(library/)?node:24([-.@].*)?$", base):
            error(f"Dockerfile: base image must be node:24 (FROM {base})")
        inherited = dict(parent) if parent else {"user": None, "entrypoint": None, "cmd": None, "env": ""}
        inherited.update(name=name, base=base, copies_from=False)
        stages.append(inherited)
    elif not stages:
        if keyword != "ARG":
            error(f"Dockerfile: {keyword} before the first FROM")
    elif keyword == "USER":
        stages[-1]["user"] = rest
    elif keyword == "ENTRYPOINT":
        stages[-1]["entrypoint"] = rest
    elif keyword == "CMD":
        stages[-1]["cmd"] = rest
    elif keyword == "ENV":
        stages[-1]["env"] += " " + rest
    elif keyword == "COPY" and "--from=" in rest:
        stages[-1]["copies_from"] = True

if len(stages) < 2:
    error(f"Dockerfile: must be multi-stage (found {len(stages)} FROM)")
elif not stages[-1]["copies_from"]:
    error("Dockerfile: the final stage must COPY --from= a build stage")
if stages:
    final = stages[-1]
    user = (final["user"] or "").split(":")[0]
    if not user:
        error("Dockerfile: the final stage has no USER (would run as root)")
    elif user in ("root", "0"):
        error(f"Dockerfile: the final stage runs as {final['user']}; use a non-root USER (node)")
    if not final["entrypoint"] or '"node"' not in final["entrypoint"]:
        error(f'Dockerfile: ENTRYPOINT must be ["node"] (is {final["entrypoint"]})')
    if not final["cmd"] or "dist/services/relay/src/main.js" not in final["cmd"]:
        error(f"Dockerfile: default CMD must be the all-in-one dist/services/relay/src/main.js (is {final['cmd']})")
    if not re.search(r"\bNODE_ENV[= ]\"?production\b", final["env"]):
        error("Dockerfile: the final stage must set NODE_ENV=production")

# ----------------------------------------------------------- .dockerignore ----
if not os.path.isfile(dockerignore_path):
    error(f".dockerignore missing ({dockerignore_path}): node_modules, dist and .data secrets would enter the build context")
else:
    with open(dockerignore_path) as handle:
        patterns = [p.strip() for p in handle if p.strip() and not p.strip().startswith("#")]
    allow_list = bool(patterns) and patterns[0] in ("*", "**")
    for needed in (".data", "node_modules"):
        if f"!{needed}" in patterns or (not allow_list and not any(p.strip("/") in (needed, f"**/{needed}") for p in patterns)):
            error(f".dockerignore must exclude {needed}")

if errors:
    print("validate-deploy: FAILED:", file=sys.stderr)
    for message in errors:
        print(f"  - {message}", file=sys.stderr)
    sys.exit(1)
print(
    f"validate-deploy: OK: {len(services)} compose services ({', '.join(sorted(services))}); "
    f"image {images.get('ingress')}; Dockerfile: {len(stages)} stages, runs as {stages[-1]['user']}"
)
PY
