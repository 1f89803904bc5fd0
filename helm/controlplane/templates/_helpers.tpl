{{/*
Names follow the chart-starter conventions so that the release can share a namespace.
*/}}
{{- define "controlplane.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "controlplane.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "controlplane.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "controlplane.labels" -}}
helm.sh/chart: {{ include "controlplane.chart" . }}
app.kubernetes.io/name: {{ include "controlplane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: controlplane
{{- end }}

{{/* Selector labels of the silos. */}}
{{- define "controlplane.selectorLabels" -}}
app.kubernetes.io/name: {{ include "controlplane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{/* Selector labels of the node agents. */}}
{{- define "controlplane.agentSelectorLabels" -}}
app.kubernetes.io/name: {{ include "controlplane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: node-agent
{{- end }}

{{- define "controlplane.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "controlplane.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The node agents' ServiceAccount (runtime kubernetes). */}}
{{- define "controlplane.agentServiceAccountName" -}}
{{- if .Values.agent.serviceAccount.create }}
{{- default (printf "%s-node-agent" (include "controlplane.fullname" .)) .Values.agent.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.agent.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
What the node agent adds to every engine pod it creates (--pod-template): the agent.engine values as the
JSON object the agent reads (metadata, spec, container). The agent sets the rest (node, owner, image,
GPUs, restartPolicy) and refuses a template that tries to.
*/}}
{{- define "controlplane.engineTemplate" -}}
{{- $e := .Values.agent.engine -}}
{{- $labels := merge (dict "app.kubernetes.io/part-of" "controlplane") $e.labels -}}
{{- $metadata := dict "labels" $labels -}}
{{- with $e.annotations }}{{- $_ := set $metadata "annotations" . }}{{- end }}
{{- $spec := dict -}}
{{- with $e.runtimeClassName }}{{- $_ := set $spec "runtimeClassName" . }}{{- end }}
{{- with $e.priorityClassName }}{{- $_ := set $spec "priorityClassName" . }}{{- end }}
{{- with $e.imagePullSecrets }}{{- $_ := set $spec "imagePullSecrets" . }}{{- end }}
{{- with $e.tolerations }}{{- $_ := set $spec "tolerations" . }}{{- end }}
{{- with $e.volumes }}{{- $_ := set $spec "volumes" . }}{{- end }}
{{- with $e.podSecurityContext }}{{- $_ := set $spec "securityContext" . }}{{- end }}
{{- $container := dict -}}
{{- with $e.args }}{{- $_ := set $container "args" . }}{{- end }}
{{- with $e.resources }}{{- $_ := set $container "resources" . }}{{- end }}
{{- with $e.env }}{{- $_ := set $container "env" . }}{{- end }}
{{- with $e.volumeMounts }}{{- $_ := set $container "volumeMounts" . }}{{- end }}
{{- with $e.securityContext }}{{- $_ := set $container "securityContext" . }}{{- end }}
{{- dict "metadata" $metadata "spec" $spec "container" $container | toPrettyJson }}
{{- end }}

{{- define "controlplane.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "controlplane.agentImage" -}}
{{- printf "%s:%s" .Values.agent.image.repository (default .Chart.AppVersion .Values.agent.image.tag) }}
{{- end }}

{{- define "controlplane.serverUrl" -}}
{{- if .Values.agent.serverUrl }}
{{- .Values.agent.serverUrl }}
{{- else }}
{{- printf "http://%s.%s.svc:%v" (include "controlplane.fullname" .) .Release.Namespace .Values.service.port }}
{{- end }}
{{- end }}

{{/*
Refuses combinations that would start but not work. Included by every template that depends on them.
*/}}
{{/*
The silo's shutdown timeout: the termination grace period less the preStop sleep and 5 s to spare.
*/}}
{{- define "controlplane.shutdownTimeoutSeconds" -}}
{{- sub (sub (int .Values.terminationGracePeriodSeconds) (int .Values.preStopSleepSeconds)) 5 -}}
{{- end }}

{{- define "controlplane.validate" -}}
{{- $c := .Values.clustering -}}
{{- $s := .Values.storage -}}
{{- if not (has $c.provider (list "localhost" "azuretable")) }}
{{- fail (printf "clustering.provider must be localhost or azuretable, not %q" $c.provider) }}
{{- end }}
{{- if not (has $s.provider (list "memory" "postgres")) }}
{{- fail (printf "storage.provider must be memory or postgres, not %q" $s.provider) }}
{{- end }}
{{- if and (eq $c.provider "localhost") (gt (int .Values.replicaCount) 1) }}
{{- fail "clustering.provider localhost runs a single silo: set replicaCount to 1 or use azuretable" }}
{{- end }}
{{- if eq $c.provider "azuretable" }}
{{- if and $c.existingSecret $c.azureTableEndpoint }}
{{- fail "clustering.existingSecret (a connection string) and clustering.azureTableEndpoint (an identity) are both set: set clustering.existingSecret=\"\" to use the identity" }}
{{- end }}
{{- if not (or $c.existingSecret $c.azureTableEndpoint) }}
{{- fail "clustering.existingSecret (a connection string Secret) or clustering.azureTableEndpoint (an Entra ID identity) is required with clustering.provider azuretable" }}
{{- end }}
{{- if and $c.azureTableEndpoint (eq $c.azureCredential "workload") (not .Values.azureWorkloadIdentity.enabled) }}
{{- fail "clustering.azureCredential workload needs azureWorkloadIdentity.enabled=true and azureWorkloadIdentity.clientId" }}
{{- end }}
{{- if not .Values.auth.existingSecret }}
{{- fail "auth.existingSecret (the operator bootstrap token) is required with clustering.provider azuretable" }}
{{- end }}
{{- end }}
{{- if .Values.azureWorkloadIdentity.enabled }}
{{- if not .Values.azureWorkloadIdentity.clientId }}
{{- fail "azureWorkloadIdentity.clientId (the app's client id) is required with azureWorkloadIdentity.enabled" }}
{{- end }}
{{- if not .Values.serviceAccount.create }}
{{- fail "azureWorkloadIdentity needs serviceAccount.create=true: the chart annotates its own ServiceAccount" }}
{{- end }}
{{- end }}
{{- if lt (int (include "controlplane.shutdownTimeoutSeconds" .)) 10 }}
{{- fail "terminationGracePeriodSeconds must exceed preStopSleepSeconds by at least 15 s: the silo needs time to hand its grains off" }}
{{- end }}
{{- if eq (int .Values.management.port) (int .Values.http.port) }}
{{- fail "management.port must differ from http.port" }}
{{- end }}
{{- if le (int .Values.fleet.downAfterMissedHeartbeats) (int .Values.fleet.suspectAfterMissedHeartbeats) }}
{{- fail "fleet.downAfterMissedHeartbeats must be greater than fleet.suspectAfterMissedHeartbeats" }}
{{- end }}
{{- if and .Values.auth.signingKeyKey (not .Values.auth.existingSecret) }}
{{- fail "auth.signingKeyKey names a key of auth.existingSecret, which is empty" }}
{{- end }}
{{- if and $s.unmanagedSchema (or $s.migrateOnStartup .Values.migration.enabled) }}
{{- fail "storage.unmanagedSchema needs migration.enabled=false and storage.migrateOnStartup=false: migrations never change a schema they did not create" }}
{{- end }}
{{- if and (eq $s.provider "postgres") (not $s.existingSecret) }}
{{- fail "storage.existingSecret is required with storage.provider postgres" }}
{{- end }}
{{- $e := .Values.agent.engine }}
{{- if and (eq .Values.agent.runtime "kubernetes") (not (eq (empty $e.sleepPath) (empty $e.wakePath))) }}
{{- fail "agent.engine.sleepPath and agent.engine.wakePath go together: an engine put to sleep must be woken" }}
{{- end }}
{{- if and (eq .Values.agent.runtime "kubernetes") $e.startCommand $e.args }}
{{- fail "agent.engine.args are for the image's entrypoint; with agent.engine.startCommand the command line is the start command's" }}
{{- end }}
{{- range $name, $limit := .Values.rateLimiting }}
{{- if and (kindIs "map" $limit) (lt (mulf (float64 $limit.burst) 10.0) (float64 $limit.perSecond)) }}
{{- fail (printf "rateLimiting.%s.burst must be at least a tenth of rateLimiting.%s.perSecond (a bucket refills every 100 ms at the most)" $name $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The server's configuration as environment variables ("__" stands for ":"). Shared by the silos and
the migration Job so that both see the same storage.
*/}}
{{- define "controlplane.env" -}}
- name: ASPNETCORE_URLS
  value: {{ printf "http://+:%v" .Values.http.port | quote }}
- name: ASPNETCORE_HTTP_PORTS
  value: ""
- name: Hosting__ManagementPort
  value: {{ .Values.management.port | quote }}
- name: Hosting__ShutdownTimeoutSeconds
  value: {{ include "controlplane.shutdownTimeoutSeconds" . | quote }}
- name: Clustering__Provider
  value: {{ .Values.clustering.provider | quote }}
- name: Clustering__ClusterId
  value: {{ .Values.clustering.clusterId | quote }}
- name: Clustering__ServiceId
  value: {{ .Values.clustering.serviceId | quote }}
- name: Clustering__SiloPort
  value: {{ .Values.clustering.siloPort | quote }}
- name: Clustering__GatewayPort
  value: {{ .Values.clustering.gatewayPort | quote }}
- name: Clustering__AdvertisedIPAddress
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
{{- if eq .Values.clustering.provider "azuretable" }}
{{- if .Values.clustering.azureTableEndpoint }}
- name: Clustering__AzureTableEndpoint
  value: {{ .Values.clustering.azureTableEndpoint | quote }}
- name: Clustering__AzureCredential
  value: {{ .Values.clustering.azureCredential | quote }}
{{- with .Values.clustering.azureClientId }}
- name: Clustering__AzureClientId
  value: {{ . | quote }}
{{- end }}
{{- else }}
- name: Clustering__ConnectionString
  valueFrom:
    secretKeyRef:
      name: {{ .Values.clustering.existingSecret }}
      key: {{ .Values.clustering.connectionStringKey }}
{{- end }}
{{- end }}
- name: Storage__Provider
  value: {{ .Values.storage.provider | quote }}
- name: Storage__DataDirectory
  value: {{ .Values.storage.dataDirectory | quote }}
- name: Storage__MigrateOnStartup
  value: {{ .Values.storage.migrateOnStartup | toString | quote }}
{{- if .Values.storage.unmanagedSchema }}
- name: Storage__UnmanagedSchema
  value: "true"
{{- end }}
{{- if eq .Values.storage.provider "postgres" }}
- name: Storage__ConnectionString
  valueFrom:
    secretKeyRef:
      name: {{ .Values.storage.existingSecret }}
      key: {{ .Values.storage.connectionStringKey }}
{{- end }}
{{- if .Values.auth.existingSecret }}
- name: Auth__BootstrapToken
  valueFrom:
    secretKeyRef:
      name: {{ .Values.auth.existingSecret }}
      key: {{ .Values.auth.bootstrapTokenKey }}
{{- if .Values.auth.signingKeyKey }}
- name: Auth__SigningKey
  valueFrom:
    secretKeyRef:
      name: {{ .Values.auth.existingSecret }}
      key: {{ .Values.auth.signingKeyKey }}
{{- end }}
{{- end }}
- name: Fleet__HeartbeatIntervalSeconds
  value: {{ .Values.fleet.heartbeatIntervalSeconds | quote }}
- name: Fleet__SuspectAfterMissedHeartbeats
  value: {{ .Values.fleet.suspectAfterMissedHeartbeats | quote }}
- name: Fleet__DownAfterMissedHeartbeats
  value: {{ .Values.fleet.downAfterMissedHeartbeats | quote }}
- name: Fleet__WatchdogPeriodSeconds
  value: {{ .Values.fleet.watchdogPeriodSeconds | quote }}
- name: Logging__Console__FormatterName
  value: {{ .Values.logging.format | quote }}
{{- with .Values.tracing }}
{{- if .otlpEndpoint }}
- name: Tracing__OtlpEndpoint
  value: {{ .otlpEndpoint | quote }}
- name: Tracing__OtlpProtocol
  value: {{ .otlpProtocol | quote }}
- name: Tracing__SampleRatio
  value: {{ .sampleRatio | toString | quote }}
{{- end }}
{{- end }}
- name: RateLimiting__Enabled
  value: {{ .Values.rateLimiting.enabled | toString | quote }}
{{- range $name, $key := dict "node" "Node" "gateway" "Gateway" "customer" "Customer" "operator" "Operator" "anonymous" "Anonymous" "failedAuthentication" "FailedAuthentication" }}
{{- $limit := index $.Values.rateLimiting $name }}
- name: RateLimiting__{{ $key }}__Burst
  value: {{ $limit.burst | int64 | quote }}
- name: RateLimiting__{{ $key }}__PerSecond
  value: {{ $limit.perSecond | toString | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
