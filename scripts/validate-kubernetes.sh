#!/usr/bin/env bash
# Offline validation of deploy/kubernetes (CI; needs no cluster, no network, no secrets):
#   1. `kubectl kustomize` (or kustomize, built with Go if need be) renders the base, the example
#      overlay, and the overlay with the optional Prometheus-operator component;
#   2. the renderings have the properties docs/kubernetes.md promises: a Deployment per service
#      from one image, probes and metrics on the ops port, resources, a non-root read-only
#      security context, secrets only as files (*_FILE) from Secret volumes, a PDB per Deployment,
#      an HPA for ingress, a KEDA ScaledObject per worker on the exact BullMQ wait list
#      (<SER_QUEUE_PREFIX>:<queue>:wait, queue names read from libs/contracts/src/queues.ts),
#      and NetworkPolicies (default deny, then only the flows the relay needs).
# Usage: scripts/validate-kubernetes.sh [deploy/kubernetes directory]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
kube_dir="$(realpath "${1:-$root/deploy/kubernetes}")"

fail() {
  echo "validate-kubernetes: FAILED: $*" >&2
  exit 1
}

# kubectl >= 1.14 carries kustomize (`kubectl kustomize`); a standalone kustomize works too. Without
# either, and with Go, kustomize is built once from the Go module proxy into $SER_TOOLS_DIR/bin.
KUSTOMIZE_VERSION=v5.5.0
tools_bin="${SER_TOOLS_DIR:-$HOME/.cache/secure-email-relay}/bin"
if command -v kubectl >/dev/null 2>&1; then
  kustomize=(kubectl kustomize)
elif command -v kustomize >/dev/null 2>&1; then
  kustomize=(kustomize build)
else
  cached="$tools_bin/kustomize-$KUSTOMIZE_VERSION"
  if [ ! -x "$cached" ] && command -v go >/dev/null 2>&1; then
    echo "validate-kubernetes: no kubectl; building kustomize $KUSTOMIZE_VERSION with Go into $tools_bin" >&2
    gobin="$(mktemp -d)"
    if GOBIN="$gobin" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2; then
      mkdir -p "$tools_bin" && mv "$gobin/kustomize" "$cached"
    fi
    rm -rf "$gobin"
  fi
  if [ -x "$cached" ]; then
    kustomize=("$cached" build)
  else
    cat >&2 <<'EOF'
validate-kubernetes: FAILED: neither kubectl nor kustomize is installed (and no Go to build kustomize).
  kubectl includes kustomize: https://kubernetes.io/docs/tasks/tools/ (e.g. from the Kubernetes apt
  repository: sudo apt-get install kubectl), or kustomize alone, with Go:
  go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0
  Rendering works offline; no cluster is needed.
EOF
    exit 1
  fi
fi

python=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import yaml' >/dev/null 2>&1; then
    python="$candidate"
    break
  fi
done
[ -n "$python" ] || fail "python3 with PyYAML is required (apt-get install python3-yaml)"
for dir in base overlays/example components/prometheus-operator; do
  [ -d "$kube_dir/$dir" ] || fail "missing $kube_dir/$dir"
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

render() { # <kustomization dir> <output file>
  if ! "${kustomize[@]}" "$1" >"$2" 2>"$work/stderr"; then
    cat "$work/stderr" >&2
    fail "\`${kustomize[*]} $1\` failed (see above)"
  fi
}
render "$kube_dir/base" "$work/base.yaml"
render "$kube_dir/overlays/example" "$work/overlay.yaml"
# The optional component on top of the example overlay (kustomize refuses absolute paths).
mkdir -p "$work/with-monitoring"
cat >"$work/with-monitoring/kustomization.yaml" <<EOF
resources:
  - $(realpath --relative-to="$work/with-monitoring" "$kube_dir/overlays/example")
components:
  - $(realpath --relative-to="$work/with-monitoring" "$kube_dir/components/prometheus-operator")
EOF
render "$work/with-monitoring" "$work/monitoring.yaml"

"$python" - "$root" "$work/base.yaml" "$work/overlay.yaml" "$work/monitoring.yaml" <<'PY'
import base64
import re
import sys

import yaml

root, base_path, overlay_path, monitoring_path = sys.argv[1:5]
SERVICES = ["ingress", "scanner", "signer", "egress", "reporting", "admin"]
# Worker -> the QUEUES key (libs/contracts/src/queues.ts) whose jobs it processes.
WORKER_QUEUES = {"scanner": "scan", "signer": "sign", "egress": "deliver", "reporting": "events"}
# libs/config SECRET_VARIABLES: only ever as <NAME>_FILE.
SECRET_VARIABLES = ["SER_MASTER_KEY", "SER_MASTER_KEY_PREVIOUS", "SER_ADMIN_TOKEN", "MONGO_URL", "REDIS_URL"]
# Files each service must read (least privilege, as in docker-compose.yml).
REQUIRED_FILES = {
    "ingress": {"MONGO_URL_FILE", "REDIS_URL_FILE", "SER_TLS_CERT_FILE", "SER_TLS_KEY_FILE"},
    "scanner": {"MONGO_URL_FILE", "REDIS_URL_FILE"},
    "signer": {"MONGO_URL_FILE", "REDIS_URL_FILE", "SER_MASTER_KEY_FILE"},
    "egress": {"MONGO_URL_FILE", "REDIS_URL_FILE", "SER_MASTER_KEY_FILE"},
    "reporting": {"MONGO_URL_FILE", "REDIS_URL_FILE"},
    "admin": {"MONGO_URL_FILE", "REDIS_URL_FILE", "SER_MASTER_KEY_FILE", "SER_ADMIN_TOKEN_FILE"},
}
FORBIDDEN_FILES = {"scanner": {"SER_MASTER_KEY_FILE", "SER_ADMIN_TOKEN_FILE", "SER_TLS_KEY_FILE"},
                   "reporting": {"SER_MASTER_KEY_FILE", "SER_ADMIN_TOKEN_FILE", "SER_TLS_KEY_FILE"},
                   "ingress": {"SER_MASTER_KEY_FILE", "SER_ADMIN_TOKEN_FILE"},
                   "signer": {"SER_ADMIN_TOKEN_FILE", "SER_TLS_KEY_FILE"},
                   "egress": {"SER_ADMIN_TOKEN_FILE", "SER_TLS_KEY_FILE"},
                   "admin": {"SER_TLS_KEY_FILE"}}
errors = []


def read(path):
    with open(f"{root}/{path}") as handle:
        return handle.read()


# ---------------------------------------------- facts from the source code ----
queues_src = read("libs/contracts/src/queues.ts")
block = re.search(r"export const QUEUES = \{(.*?)\}", queues_src, re.S)
QUEUES = dict(re.findall(r"(\w+):\s*'([^']+)'", block.group(1))) if block else {}
if set(QUEUES) != set(WORKER_QUEUES.values()):
    errors.append(f"libs/contracts QUEUES has {sorted(QUEUES)}; expected {sorted(WORKER_QUEUES.values())} "
                  "(update WORKER_QUEUES here and the ScaledObjects)")
config_src = read("libs/config/src/relay-config.ts")
# The schema entry runs from `SER_QUEUE_PREFIX:` to the next `  NAME:` line.
entry = re.search(r"^\s*SER_QUEUE_PREFIX:(.*?)(?=^\s*[A-Z][A-Z0-9_]*:)", config_src, re.S | re.M)
match = re.search(r"\.default\('([^']+)'\)", entry.group(1)) if entry else None
DEFAULT_PREFIX = match.group(1) if match else None
if DEFAULT_PREFIX is None:
    errors.append("cannot find SER_QUEUE_PREFIX's default in libs/config/src/relay-config.ts")
# The ops-port contract (libs/runtime): SER_OPS_PORT, default 9464; read from the schema when there.
match = re.search(r"SER_OPS_PORT:\s*port\.default\((\d+)\)", config_src)
DEFAULT_OPS_PORT = int(match.group(1)) if match else 9464


def load(path):
    with open(path) as handle:
        return [d for d in yaml.safe_load_all(handle) if d]


def quantity(value):
    """CPU in cores or memory in bytes from a Kubernetes quantity."""
    text = str(value)
    units = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    number = re.match(r"^([0-9.]+)([A-Za-z]*)$", text)
    if not number or (number.group(2) and number.group(2) not in units):
        raise ValueError(text)
    return float(number.group(1)) * units.get(number.group(2), 1)


def matches(selector, labels):
    selector = selector or {}
    if selector.get("matchExpressions"):
        return False  # not used here; treat as no match so a check fails loudly
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def check(name, docs):
    def error(message):
        errors.append(f"{name}: {message}")

    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc.get("kind"), []).append(doc)
    configmaps = {c["metadata"]["name"]: c.get("data") or {} for c in by_kind.get("ConfigMap", [])}
    secrets = {s["metadata"]["name"]: s for s in by_kind.get("Secret", [])}

    # ------------------------------------------------------------ Deployments ----
    deployments = {}
    for deployment in by_kind.get("Deployment", []):
        component = (deployment["spec"]["template"]["metadata"].get("labels") or {}).get("app.kubernetes.io/component")
        if component in deployments:
            error(f"two Deployments for {component}")
        deployments[component] = deployment
    for service in SERVICES:
        if service not in deployments:
            error(f"no Deployment whose pods are labelled app.kubernetes.io/component={service}")
    images = set()
    pods = {}  # service -> (labels, {port name: number}, config)
    prefix_seen = set()
    for service, deployment in deployments.items():
        dname = deployment["metadata"]["name"]
        spec = deployment["spec"]
        template = spec["template"]
        pod = template["spec"]
        labels = template["metadata"].get("labels") or {}
        if not matches(spec.get("selector"), labels):
            error(f"{dname}: selector does not match its pod labels")
        relay = [c for c in pod.get("containers", []) if c.get("name") == "relay"]
        if len(relay) != 1:
            error(f"{dname}: needs exactly one container named relay")
            continue
        container = relay[0]
        images.add(container.get("image"))
        if str(container.get("image", "")).endswith(":latest") or ":" not in str(container.get("image", "")):
            error(f"{dname}: image {container.get('image')} must be pinned to a tag or digest")
        args = container.get("args") or container.get("command") or []
        if service in SERVICES and f"dist/services/{service}/src/main.js" not in args:
            error(f"{dname}: must run dist/services/{service}/src/main.js (args are {args})")

        # Effective environment: ConfigMaps (envFrom) then env.
        env = {}
        for source in container.get("envFrom") or []:
            if "secretRef" in source:
                error(f"{dname}: envFrom secretRef puts secret values in the environment; mount files instead")
            if "configMapRef" in source:
                ref = source["configMapRef"]["name"]
                if ref not in configmaps and not source["configMapRef"].get("optional"):
                    error(f"{dname}: envFrom ConfigMap {ref} is not in the rendering")
                env.update(configmaps.get(ref, {}))
        for item in container.get("env") or []:
            if "valueFrom" in item:
                if "secretKeyRef" in item["valueFrom"]:
                    error(f"{dname}: env {item['name']} from secretKeyRef; secrets only as *_FILE from Secret volumes")
                env[item["name"]] = None
            else:
                env[item["name"]] = item.get("value")
        for variable in SECRET_VARIABLES:
            if variable in env:
                error(f"{dname}: {variable} set in the environment; use {variable}_FILE with a mounted Secret")
        for configmap, data in configmaps.items():
            for variable in SECRET_VARIABLES:
                if variable in data:
                    error(f"ConfigMap {configmap} holds {variable}; secrets never go into ConfigMaps")

        # Secret files: every *_FILE (and the TLS paths) under a read-only mount of a Secret volume.
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        mounts = container.get("volumeMounts") or []
        files = {k for k in env if k.endswith("_FILE")}
        for variable in sorted(REQUIRED_FILES.get(service, set()) - files):
            error(f"{dname}: {variable} missing")
        for variable in sorted(FORBIDDEN_FILES.get(service, set()) & files):
            error(f"{dname}: mounts {variable}, which this service does not need (least privilege)")
        for variable in sorted(files):
            path = env[variable] or ""
            mount = next((m for m in mounts if path.startswith(m["mountPath"].rstrip("/") + "/")), None)
            volume = volumes.get(mount["name"]) if mount else None
            if not volume or "secret" not in volume:
                error(f"{dname}: {variable}={path} is not inside a mounted Secret volume")
                continue
            if not mount.get("readOnly"):
                error(f"{dname}: Secret mount {mount['mountPath']} must be readOnly")
            if mount.get("subPath"):
                error(f"{dname}: Secret mount {mount['mountPath']} uses subPath (no updates reach the pod)")
            key = path[len(mount["mountPath"].rstrip("/")) + 1:]
            secret_name = volume["secret"].get("secretName")
            if secrets:  # the overlay renders its Secrets: the key must exist
                secret = secrets.get(secret_name)
                if secret is None:
                    error(f"{dname}: Secret {secret_name} ({variable}) is not in the rendering")
                elif key not in (secret.get("data") or {}) and key not in (secret.get("stringData") or {}):
                    error(f"{dname}: Secret {secret_name} has no key {key} ({variable})")

        # Ops port, probes, metrics annotations.
        ports = {p.get("name"): p.get("containerPort") for p in container.get("ports") or []}
        ops_port = int(env.get("SER_OPS_PORT") or DEFAULT_OPS_PORT)
        if ports.get("ops") != ops_port:
            error(f"{dname}: container port `ops` is {ports.get('ops')}, SER_OPS_PORT is {ops_port}")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", None)):
            spec_probe = container.get(probe)
            if spec_probe is None:
                if probe != "startupProbe":
                    error(f"{dname}: no {probe}")
                continue
            http = spec_probe.get("httpGet") or {}
            if http.get("port") not in ("ops", ops_port):
                error(f"{dname}: {probe} must use the ops port (uses {http.get('port')})")
            if path and http.get("path") != path:
                error(f"{dname}: {probe} must GET {path} (gets {http.get('path')})")
        annotations = template["metadata"].get("annotations") or {}
        expected = {"prometheus.io/scrape": "true", "prometheus.io/port": str(ops_port), "prometheus.io/path": "/metrics"}
        for key, value in expected.items():
            if annotations.get(key) != value:
                error(f"{dname}: pod annotation {key} must be {value!r} (is {annotations.get(key)!r})")

        # Resources.
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                value = (resources.get(kind) or {}).get(resource)
                if value is None:
                    error(f"{dname}: resources.{kind}.{resource} missing")
        try:
            for resource in ("cpu", "memory"):
                request = (resources.get("requests") or {}).get(resource)
                limit = (resources.get("limits") or {}).get(resource)
                if request is not None and limit is not None and quantity(request) > quantity(limit):
                    error(f"{dname}: {resource} request {request} above its limit {limit}")
        except ValueError as bad:
            error(f"{dname}: unreadable quantity {bad}")

        # Security context.
        pod_sc = pod.get("securityContext") or {}
        sc = container.get("securityContext") or {}
        if not (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True):
            error(f"{dname}: runAsNonRoot must be true")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) in (0, None):
            error(f"{dname}: runAsUser must be set and non-zero (the image's node user is 1000)")
        if sc.get("allowPrivilegeEscalation") is not False:
            error(f"{dname}: allowPrivilegeEscalation must be false")
        if sc.get("readOnlyRootFilesystem") is not True:
            error(f"{dname}: readOnlyRootFilesystem must be true")
        if sc.get("privileged"):
            error(f"{dname}: must not be privileged")
        capabilities = sc.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            error(f"{dname}: capabilities must drop ALL")
        if capabilities.get("add"):
            error(f"{dname}: adds capabilities {capabilities['add']}")
        if (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            error(f"{dname}: seccompProfile must be RuntimeDefault")
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(host):
                error(f"{dname}: {host} must not be set")
        if pod.get("automountServiceAccountToken") is not False:
            error(f"{dname}: automountServiceAccountToken must be false (the relay uses no Kubernetes API)")

        grace = pod.get("terminationGracePeriodSeconds", 30)
        if service == "ingress":
            drain = int(env.get("SER_INGRESS_DRAIN_TIMEOUT_MS") or 20000) / 1000
            if grace <= drain + 5:
                error(f"{dname}: terminationGracePeriodSeconds {grace} must exceed the drain "
                      f"timeout ({drain:g} s) plus the preStop pause")
            for variable, port_name, default in (("SER_INGRESS_SUBMISSION_PORT", "submission", 587),
                                                 ("SER_INGRESS_SUBMISSIONS_PORT", "submissions", 465)):
                if ports.get(port_name) != int(env.get(variable) or default):
                    error(f"{dname}: container port {port_name} ({ports.get(port_name)}) != {variable}")
        if service == "egress" and grace < 30:
            error(f"{dname}: terminationGracePeriodSeconds must be >= 30 to finish SMTP transactions")
        if service == "admin" and ports.get("http") != int(env.get("SER_ADMIN_PORT") or 8080):
            error(f"{dname}: container port http ({ports.get('http')}) != SER_ADMIN_PORT")
        prefix_seen.add(env.get("SER_QUEUE_PREFIX") or DEFAULT_PREFIX)
        pods[service] = (labels, ports, deployment)
    if len(images) > 1:
        error(f"every service must run the one relay image (found {sorted(images)})")
    if len(prefix_seen) > 1:
        error(f"services disagree on SER_QUEUE_PREFIX: {sorted(prefix_seen)}")
    prefix = next(iter(prefix_seen), DEFAULT_PREFIX)

    # -------------------------------------------------------------- Services ----
    services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    for service, want in (("ingress", {587: ("submission",)}), ("admin", {8080: ("http",)})):
        if service not in pods:
            continue
        labels, ports, _ = pods[service]
        found = [s for s in services.values() if s["spec"].get("selector") and
                 all(labels.get(k) == v for k, v in s["spec"]["selector"].items())]
        exposed = {p["port"]: p.get("targetPort") for s in found for p in s["spec"].get("ports") or []}
        wanted = {587: "submission", 465: "submissions"} if service == "ingress" else {8080: "http"}
        for port, target in wanted.items():
            if port not in exposed:
                error(f"no Service exposes {service} on {port}")
            elif exposed[port] not in (target, ports.get(target)):
                error(f"Service port {port} of {service} targets {exposed[port]}, not the {target} container port")

    # ------------------------------------------------------------------ PDBs ----
    for service, (labels, _, deployment) in pods.items():
        pdbs = [p for p in by_kind.get("PodDisruptionBudget", []) if matches(p["spec"].get("selector"), labels)]
        if len(pdbs) != 1:
            error(f"{deployment['metadata']['name']}: needs exactly one PodDisruptionBudget (has {len(pdbs)})")

    # ------------------------------------------------------------ autoscaling ----
    def targets(kind, resource):
        ref = resource["spec"].get("scaleTargetRef") or {}
        return ref.get("name") if ref.get("kind", "Deployment") == "Deployment" else None

    hpas = by_kind.get("HorizontalPodAutoscaler", [])
    scaled = by_kind.get("ScaledObject", [])
    names = {service: pods[service][2]["metadata"]["name"] for service in pods}
    ingress_hpas = [h for h in hpas if targets("HPA", h) == names.get("ingress")]
    if len(ingress_hpas) != 1:
        error(f"ingress needs exactly one HorizontalPodAutoscaler (has {len(ingress_hpas)})")
    else:
        hpa = ingress_hpas[0]["spec"]
        if not any(m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu"
                   for m in hpa.get("metrics") or []):
            error("the ingress HPA must scale on CPU")
        if (hpa.get("minReplicas") or 1) < 2:
            error("the ingress HPA needs minReplicas >= 2 (SMTP stays up through a rollout or drain)")
    auths = {a["metadata"]["name"] for a in by_kind.get("TriggerAuthentication", [])}
    for worker, queue_key in WORKER_QUEUES.items():
        if worker not in names:
            continue
        objects = [s for s in scaled if targets("ScaledObject", s) == names[worker]]
        if len(objects) != 1:
            error(f"{worker} needs exactly one KEDA ScaledObject (has {len(objects)})")
            continue
        spec = objects[0]["spec"]
        expected_key = f"{prefix}:{QUEUES.get(queue_key)}:wait"
        triggers = [t for t in spec.get("triggers") or [] if t.get("type") == "redis"]
        if not triggers:
            error(f"{worker}: ScaledObject has no redis trigger")
        for trigger in triggers:
            metadata = trigger.get("metadata") or {}
            if metadata.get("listName") != expected_key:
                error(f"{worker}: ScaledObject listName is {metadata.get('listName')!r}; "
                      f"BullMQ's wait list is {expected_key!r}")
            if not str(metadata.get("listLength", "")).isdigit() or int(metadata["listLength"]) < 1:
                error(f"{worker}: listLength must be a positive integer")
            ref = (trigger.get("authenticationRef") or {}).get("name")
            if ref and ref not in auths:
                error(f"{worker}: TriggerAuthentication {ref} is not in the rendering")
        if int(spec.get("minReplicaCount", 0)) < 1:
            error(f"{worker}: minReplicaCount must be >= 1 (with no worker, delayed jobs are never moved to wait)")
        if any(targets("HPA", h) == names[worker] for h in hpas):
            error(f"{worker}: has an HPA besides its ScaledObject (KEDA creates and owns the HPA)")
    for service in ("ingress", *WORKER_QUEUES):
        if service in pods and "replicas" in pods[service][2]["spec"]:
            error(f"{names[service]}: sets spec.replicas, which its autoscaler owns (an apply would reset it)")

    # ------------------------------------------------------- NetworkPolicies ----
    policies = by_kind.get("NetworkPolicy", [])
    if not any(p["spec"].get("podSelector") == {} and set(p["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
               and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in policies):
        error("no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no rules)")

    def rules(service, direction):
        labels, ports, _ = pods[service]
        for policy in policies:
            spec = policy["spec"]
            if matches(spec.get("podSelector"), labels) and direction.capitalize() in (spec.get("policyTypes") or []):
                for rule in spec.get(direction) or []:
                    yield rule, ports

    def port_numbers(rule, ports):
        """Port numbers a rule allows (None: every port)."""
        if not rule.get("ports"):
            return None
        numbers = set()
        for entry in rule["ports"]:
            port = entry.get("port")
            numbers.add((entry.get("protocol", "TCP"), ports.get(port, port) if isinstance(port, str) else port))
        return numbers

    def open_peers(rule, key):
        peers = rule.get(key)
        return not peers or any((p.get("ipBlock") or {}).get("cidr") in ("0.0.0.0/0", "::/0") and
                                not (p.get("ipBlock") or {}).get("except") for p in peers)

    def allows(service, direction, protocol, port):
        for rule, ports in rules(service, direction):
            numbers = port_numbers(rule, ports)
            if numbers is None or (protocol, port) in numbers:
                yield rule

    for service in pods:
        _, ports, _ = pods[service]
        for protocol, port in (("UDP", 53), ("TCP", 6379), ("TCP", 27017)):
            if not any(allows(service, "egress", protocol, port)):
                error(f"NetworkPolicies: {service} may not reach {protocol} {port}")
        inbound = list(rules(service, "ingress"))
        if not inbound:
            error(f"NetworkPolicies: nothing may reach {service}'s ops port (metrics)")
        public = {"ingress": {ports.get("submission"), ports.get("submissions")}}.get(service, set())
        for rule, _ in inbound:
            numbers = port_numbers(rule, ports)
            if numbers is None:
                error(f"NetworkPolicies: an ingress rule of {service} allows every port")
                continue
            allowed = {n for _, n in numbers}
            if open_peers(rule, "from") and not allowed <= public:
                error(f"NetworkPolicies: {service} ports {sorted(allowed - public)} are open to everyone")
            if service in WORKER_QUEUES and allowed != {ports.get("ops")}:
                error(f"NetworkPolicies: worker {service} accepts connections on {sorted(allowed)}; only ops")
        if service == "ingress":
            for port in sorted(public):
                if not any(open_peers(r, "from") for r in allows("ingress", "ingress", "TCP", port)):
                    error(f"NetworkPolicies: ingress port {port} must be reachable from anywhere")
        if service == "admin" and not any(allows("admin", "ingress", "TCP", ports.get("http"))):
            error("NetworkPolicies: nothing may reach the admin API (allow the admin namespace/label)")
        reaches_25 = any(allows(service, "egress", "TCP", 25))
        if service == "egress" and not reaches_25:
            error("NetworkPolicies: egress may not reach MX hosts on TCP 25")
        if service != "egress" and reaches_25:
            error(f"NetworkPolicies: {service} may reach TCP 25; only egress delivers mail")
        if service == "scanner" and not any(allows("scanner", "egress", "TCP", 3310)):
            error("NetworkPolicies: scanner may not reach clamd (TCP 3310)")

    if any(d.get("apiVersion", "").startswith("monitoring.coreos.com/") for d in docs) and name != "monitoring":
        error("Prometheus-operator resources belong in components/prometheus-operator, not here (CRDs)")
    return secrets


check("base", load(base_path))
overlay_secrets = check("overlay example", load(overlay_path))
# The committed example Secrets must stay dev-only placeholders.
for secret_name, secret in overlay_secrets.items():
    for key, value in (secret.get("data") or {}).items():
        text = base64.b64decode(value).decode("utf-8", "replace").strip()
        if text and "CHANGE-ME" not in text:
            errors.append(f"overlay example: Secret {secret_name} key {key} is not a CHANGE-ME placeholder; "
                          "never commit real secrets (docs/kubernetes.md, Secrets)")
monitoring = load(monitoring_path)
check("monitoring", monitoring)
monitors = [d for d in monitoring if d.get("kind") in ("PodMonitor", "ServiceMonitor")]
if not any(e.get("port") == "ops" and e.get("path", "/metrics") == "/metrics"
           for m in monitors for e in m["spec"].get("podMetricsEndpoints") or m["spec"].get("endpoints") or []):
    errors.append("components/prometheus-operator: needs a PodMonitor/ServiceMonitor on port ops, path /metrics")

if errors:
    print("validate-kubernetes: FAILED:", file=sys.stderr)
    for message in errors:
        print(f"  - {message}", file=sys.stderr)
    sys.exit(1)
keys = ", ".join(f"{DEFAULT_PREFIX}:{QUEUES[k]}:wait" for k in WORKER_QUEUES.values())
print(f"validate-kubernetes: OK: base, overlay example and monitoring component; "
      f"{len(SERVICES)} Deployments; KEDA wait lists {keys}")
PY
