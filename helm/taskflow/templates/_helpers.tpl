{{/*
Naming, labels and the small blocks every workload repeats. Helpers take named arguments:
"context" is the root ($), "component" is always a component's name (a key of .Values.components,
or one of the chart's own: postgresql, migration, app, test).
*/}}

{{/* Chart name, overridable, cut to 63 characters because label values and DNS names allow no more. */}}
{{- define "taskflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "<release>-<chart>" (or just the release when it already contains the chart name), cut to 63 characters. */}}
{{- define "taskflow.fullname" -}}
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

{{/* "<fullname>-<component>"; the fullname is cut first so the component suffix always survives. */}}
{{- define "taskflow.componentName" -}}
{{- printf "%s-%s" (include "taskflow.fullname" .context | trunc (int (sub 62 (len .component)))) .component | trimSuffix "-" }}
{{- end }}

{{/* "name-version" for the helm.sh/chart label ("+" is not allowed in label values). */}}
{{- define "taskflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The only labels selectors use: they never change over a release's life, so Deployments can be upgraded in place. */}}
{{- define "taskflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "taskflow.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Every object's labels: the selector labels plus the ones that may change between versions. */}}
{{- define "taskflow.labels" -}}
helm.sh/chart: {{ include "taskflow.chart" .context }}
{{ include "taskflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .context.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: {{ .context.Values.partOf }}
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
{{- end }}

{{/* A pod's labels: the object labels plus the plain "app" label that dashboards and `kubectl -l app=…` expect. */}}
{{- define "taskflow.podLabels" -}}
{{ include "taskflow.labels" . }}
app: {{ .component }}
{{- end }}

{{/* "repository:tag", the tag defaulting to appVersion so a bare install runs the matching app. */}}
{{- define "taskflow.image" -}}
{{- printf "%s:%s" .image.repository (default .context.Chart.AppVersion .image.tag) }}
{{- end }}

{{/* The ServiceAccount every pod runs as: the chart's own, a named one, or the namespace default. */}}
{{- define "taskflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "taskflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret the pods read: the user's existing one or the chart's own. */}}
{{- define "taskflow.secretName" -}}
{{- default (include "taskflow.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* Host of the in-cluster PostgreSQL (its Service). */}}
{{- define "taskflow.postgresql.host" -}}
{{- include "taskflow.componentName" (dict "context" . "component" "postgresql") }}
{{- end }}

{{/*
The exec command of all three PostgreSQL probes, so they agree on what "up" means. Over TCP, not the
socket: on first boot the image's init server listens on the socket only and must not count as up.
*/}}
{{- define "taskflow.postgresql.isReadyCommand" -}}
{{- $pg := .context.Values.postgresql -}}
["pg_isready", "-h", "127.0.0.1", "-p", "{{ $pg.port }}", "-U", "{{ $pg.auth.username }}", "-d", "{{ $pg.auth.database }}"]
{{- end }}

{{/* A component's in-cluster URL, "http://<fullname>-<component>:<service port>", for another component's serviceUrls. */}}
{{- define "taskflow.serviceUrl" -}}
{{- $target := index .context.Values.components .component | default dict }}
{{- printf "http://%s:%d" (include "taskflow.componentName" .) (int (dig "service" "port" 0 $target)) }}
{{- end }}

{{/*
The keys the chart's own Secret can hold besides secrets.extra, and whether the pods need each one:
validateValues accepts these in a secretEnv list, and taskflow.secretEnv marks a reference to any
key that is not required (a model API key, a secrets.extra key) optional, so the pod starts without it.
The list is files/secret-keys.yaml, which the toolkit reads too.
*/}}
{{- define "taskflow.secretKeys" -}}
{{- .Files.Get "files/secret-keys.yaml" }}
{{- end }}

{{/* The Secret key a secretEnv item reads: the item itself, or its "key" when it renames ({name, key}). */}}
{{- define "taskflow.secretEnvKey" -}}
{{- if kindIs "map" . }}{{ .key }}{{ else }}{{ . }}{{ end }}
{{- end }}

{{/*
The chart Secret's data as YAML (plain text; the Secret template encodes it). Each generated value
is kept from the live Secret on upgrade (lookup), so an upgrade never rotates the database password
under an existing volume or logs every user out. Order: a value given in values > the live value >
a new random one. Computed in one place so DATABASE_URL and POSTGRES_PASSWORD always agree.
MCP_SHARED_SECRET is only made once a component asks for it (or it was made before), so an app
without the MCP server keeps the Secret it had.
*/}}
{{- define "taskflow.secretData" -}}
{{- if not (hasKey .Values "__secretData") }}
{{- $live := (lookup "v1" "Secret" .Release.Namespace (include "taskflow.fullname" .)) | default dict }}
{{- $liveData := $live.data | default dict }}
{{- $data := dict }}
{{- $auth := .Values.secrets.betterAuthSecret }}
{{- if not $auth }}{{- $auth = (get $liveData "BETTER_AUTH_SECRET" | b64dec) }}{{- end }}
{{- if not $auth }}{{- $auth = randAlphaNum 48 }}{{- end }}
{{- $_ := set $data "BETTER_AUTH_SECRET" $auth }}
{{- if .Values.postgresql.enabled }}
{{- $pw := .Values.postgresql.auth.password }}
{{- if not $pw }}{{- $pw = (get $liveData "POSTGRES_PASSWORD" | b64dec) }}{{- end }}
{{- if not $pw }}{{- $pw = randAlphaNum 32 }}{{- end }}
{{- $_ := set $data "POSTGRES_PASSWORD" $pw }}
{{- $url := printf "postgresql://%s:%s@%s:%d/%s" .Values.postgresql.auth.username $pw (include "taskflow.postgresql.host" .) (int .Values.postgresql.port) .Values.postgresql.auth.database }}
{{- $_ := set $data "DATABASE_URL" $url }}
{{- else if .Values.externalDatabase.url }}
{{- $_ := set $data "DATABASE_URL" .Values.externalDatabase.url }}
{{- end }}
{{- $asked := list }}
{{- range $name, $c := .Values.components }}
{{- if $c.enabled }}
{{- range $c.secretEnv }}{{- $asked = append $asked (include "taskflow.secretEnvKey" .) }}{{- end }}
{{- end }}
{{- end }}
{{- $mcp := .Values.secrets.mcpSharedSecret }}
{{- if not $mcp }}{{- $mcp = (get $liveData "MCP_SHARED_SECRET" | b64dec) }}{{- end }}
{{- if and (not $mcp) (has "MCP_SHARED_SECRET" $asked) }}{{- $mcp = randAlphaNum 48 }}{{- end }}
{{- if $mcp }}
{{- $_ := set $data "MCP_SHARED_SECRET" $mcp }}
{{- end }}
{{- if .Values.secrets.openaiApiKey }}
{{- $_ := set $data "OPENAI_API_KEY" .Values.secrets.openaiApiKey }}
{{- end }}
{{- range $k, $v := .Values.secrets.extra }}
{{- $_ := set $data $k (toString $v) }}
{{- end }}
{{- /* Every template of one render shares .Values, so the random values are drawn once. */}}
{{- $_ := set .Values "__secretData" $data }}
{{- end }}
{{- toYaml (get .Values "__secretData") }}
{{- end }}

{{/*
A checksum of the Secret's content for the pod annotation, so a changed secret rolls the pods.
With an existing Secret only its name is known here.
*/}}
{{- define "taskflow.secretChecksum" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret | sha256sum }}
{{- else }}
{{- include "taskflow.secretData" . | sha256sum }}
{{- end }}
{{- end }}

{{/*
Env entries for a component's secretEnv list. An item is a key name or {name, key} to rename it.
DATABASE_URL comes from externalDatabase.existingSecret when that is set.
*/}}
{{- define "taskflow.secretEnv" -}}
{{- $root := .context }}
{{- $chartKeys := include "taskflow.secretKeys" $root | fromYaml }}
{{- range .items }}
{{- $key := include "taskflow.secretEnvKey" . }}
{{- $name := $key }}{{- if kindIs "map" . }}{{- $name = .name }}{{- end }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      {{- if and (eq $key "DATABASE_URL") $root.Values.externalDatabase.existingSecret }}
      name: {{ $root.Values.externalDatabase.existingSecret }}
      key: {{ $root.Values.externalDatabase.existingSecretKey }}
      {{- else }}
      name: {{ include "taskflow.secretName" $root }}
      key: {{ $key }}
      {{- if ne (get $chartKeys $key) "required" }}
      optional: true
      {{- end }}
      {{- end }}
{{- end }}
{{- end }}

{{/* The component's plain settings: its ports (a worker has none), the URLs of the components it calls, then its env (which wins). */}}
{{- define "taskflow.configData" -}}
{{- $c := index .context.Values.components .component -}}
{{- $data := dict }}
{{- if $c.containerPort }}
{{- $_ := set $data "PORT" (toString $c.containerPort) }}
{{- end }}
{{- if $c.metricsPort }}
{{- $_ := set $data "METRICS_PORT" (toString $c.metricsPort) }}
{{- end }}
{{- range $var, $target := $c.serviceUrls }}
{{- $_ := set $data $var (include "taskflow.serviceUrl" (dict "context" $.context "component" $target)) }}
{{- end }}
{{- range $k, $v := $c.env }}
{{- $_ := set $data $k (toString $v) }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{/* Pod-level security context of the app pods: Pod Security Standard "restricted". */}}
{{- define "taskflow.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsUser }}
fsGroup: {{ .runAsUser }}
seccompProfile:
  type: {{ .context.Values.podSecurityContext.seccompProfile.type }}
{{- end }}

{{/* Container-level security context: nothing to escalate, no capabilities, nothing writable but emptyDirs. */}}
{{- define "taskflow.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{/*
Startup, liveness and readiness probes through the named port. Startup gives a slow first boot time
without loosening liveness; liveness asks only "is the process serving" so a database outage takes
pods out of the Service (readiness) instead of restarting them.
*/}}
{{- define "taskflow.httpProbes" -}}
{{- $p := .probes -}}
startupProbe:
  httpGet:
    path: {{ $p.startupPath }}
    port: http
  periodSeconds: {{ $p.startup.periodSeconds }}
  failureThreshold: {{ $p.startup.failureThreshold }}
  timeoutSeconds: {{ $p.startup.timeoutSeconds }}
livenessProbe:
  httpGet:
    path: {{ $p.livenessPath }}
    port: http
  periodSeconds: {{ $p.liveness.periodSeconds }}
  failureThreshold: {{ $p.liveness.failureThreshold }}
  timeoutSeconds: {{ $p.liveness.timeoutSeconds }}
readinessProbe:
  httpGet:
    path: {{ $p.readinessPath }}
    port: http
  periodSeconds: {{ $p.readiness.periodSeconds }}
  failureThreshold: {{ $p.readiness.failureThreshold }}
  timeoutSeconds: {{ $p.readiness.timeoutSeconds }}
{{- end }}

{{/* The emptyDir volume of a writable path, named after the path so its mount and volume pair up. */}}
{{- define "taskflow.writableVolumeName" -}}
{{- printf "writable%s" (. | replace "/" "-" | replace "." "" | replace "_" "-") | lower | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Spreads a component's replicas over nodes once there is more than one (or the HPA may add more). */}}
{{- define "taskflow.antiAffinity" -}}
{{- $c := index .context.Values.components .component -}}
{{- $many := or (gt (int $c.replicaCount) 1) .context.Values.autoscaling.enabled }}
{{- if and $many (ne $c.antiAffinity "none") }}
affinity:
  podAntiAffinity:
    {{- if eq $c.antiAffinity "hard" }}
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "taskflow.selectorLabels" . | nindent 12 }}
    {{- else }}
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "taskflow.selectorLabels" . | nindent 14 }}
    {{- end }}
{{- end }}
{{- end }}

{{/*
Every enabled component's ingress paths as a list of {path, component}, longest path first: the
order the controller applies (the longest matching prefix wins), so the Ingress reads as it routes.
*/}}
{{- define "taskflow.ingressRoutes" -}}
{{- $bySortKey := dict }}
{{- range $name, $c := .Values.components }}
{{- if $c.enabled }}
{{- range $c.ingressPaths }}
{{- /* "0991 /api/auth": 1000 minus the length, zero-padded, sorts longer paths first; then by path. */}}
{{- $_ := set $bySortKey (printf "%04d %s" (sub 1000 (len .)) .) (dict "path" . "component" $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- $routes := list }}
{{- range keys $bySortKey | sortAlpha }}
{{- $routes = append $routes (get $bySortKey .) }}
{{- end }}
{{- toYaml $routes }}
{{- end }}

{{/*
Checks what the schema cannot (relations between keys) and fails once with every problem,
each naming the key and what to change.
*/}}
{{- define "taskflow.validateValues" -}}
{{- $errors := list }}
{{- $v := .Values }}
{{- if and (not $v.postgresql.enabled) (not $v.externalDatabase.url) (not $v.externalDatabase.existingSecret) }}
{{- $errors = append $errors "postgresql.enabled is false but no external database is set: set externalDatabase.url or externalDatabase.existingSecret, or set postgresql.enabled=true" }}
{{- end }}
{{- if and $v.postgresql.enabled (or $v.externalDatabase.url $v.externalDatabase.existingSecret) }}
{{- $errors = append $errors "externalDatabase is set while postgresql.enabled is true: set postgresql.enabled=false to use the external database, or clear externalDatabase" }}
{{- end }}
{{- $known := keys (include "taskflow.secretKeys" . | fromYaml) }}
{{- $secretish := printf "(?i)%s" (.Files.Get "files/secret-names.yaml" | fromYaml).pattern }}
{{- range $k, $_ := $v.secrets.extra }}{{- $known = append $known $k }}{{- end }}
{{- $pathOwner := dict }}
{{- $enabled := list }}
{{- range $name, $c := $v.components }}{{ if $c.enabled }}{{ $enabled = append $enabled $name }}{{ end }}{{ end }}
{{- range $name, $c := $v.components }}
{{- $at := printf "components.%s" $name }}
{{- if has $name (list "postgresql" "migration") }}
{{- $errors = append $errors (printf "%s: the name %s is taken by the chart's own objects: rename the component" $at $name) }}
{{- end }}
{{- range $c.reachableFrom }}
{{- if not (hasKey $v.components .) }}
{{- $errors = append $errors (printf "%s.reachableFrom names %s, which is not a component: use one of %s" $at . (keys $v.components | sortAlpha | join ", ")) }}
{{- end }}
{{- end }}
{{- if $c.enabled }}
{{- if ge (int $c.preStopSleepSeconds) (int $c.terminationGracePeriodSeconds) }}
{{- $errors = append $errors (printf "%s.preStopSleepSeconds (%d) must be less than %s.terminationGracePeriodSeconds (%d), or SIGTERM comes after the pod is killed" $at (int $c.preStopSleepSeconds) $at (int $c.terminationGracePeriodSeconds)) }}
{{- end }}
{{- if and $c.metricsPort (eq (int $c.metricsPort) (int $c.containerPort)) }}
{{- $errors = append $errors (printf "%s.metricsPort (%d) is its containerPort too: metrics get a port of their own, which the Service does not expose, so pick another" $at (int $c.metricsPort)) }}
{{- end }}
{{- if and (eq $c.service.type "LoadBalancer") $c.service.nodePort }}
{{- $errors = append $errors (printf "%s.service.nodePort (%d) is only used with type NodePort, but the type is LoadBalancer: set %s.service.type=NodePort or %s.service.nodePort=null" $at (int $c.service.nodePort) $at $at) }}
{{- end }}
{{- range $k, $_ := $c.env }}
{{- if regexMatch $secretish $k }}
{{- $errors = append $errors (printf "%s.env.%s looks like a secret and would land in a ConfigMap: move it to secrets.extra.%s and list it in %s.secretEnv" $at $k $k $at) }}
{{- end }}
{{- end }}
{{- if not $v.secrets.existingSecret }}
{{- range $c.secretEnv }}
{{- $key := include "taskflow.secretEnvKey" . }}
{{- if not (has $key $known) }}
{{- $errors = append $errors (printf "%s.secretEnv names %s, which the chart's Secret does not hold: add secrets.extra.%s or remove it" $at $key $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- range $var, $target := $c.serviceUrls }}
{{- if not (dig $target "enabled" false $v.components) }}
{{- $errors = append $errors (printf "%s.serviceUrls.%s names %s, which is not an enabled component: enable it or remove the variable" $at $var $target) }}
{{- else if not (index $v.components $target).containerPort }}
{{- $errors = append $errors (printf "%s.serviceUrls.%s names %s, which has no Service to connect to (components.%s.containerPort is null: a worker): remove the variable, or give components.%s a containerPort" $at $var $target $target $target) }}
{{- end }}
{{- end }}
{{- if and (not $c.containerPort) $c.ingressPaths }}
{{- $errors = append $errors (printf "%s.ingressPaths routes %s to %s, which has no Service (%s.containerPort is null: a worker): set %s.ingressPaths to [], or give it a containerPort" $at (join ", " $c.ingressPaths) $name $at $at) }}
{{- end }}
{{- range $c.ingressPaths }}
{{- if hasKey $pathOwner . }}
{{- $errors = append $errors (printf "%s.ingressPaths and components.%s.ingressPaths both claim %s: each path routes to one component, so remove it from one of them" $at (get $pathOwner .) .) }}
{{- else }}
{{- $_ := set $pathOwner . $name }}
{{- end }}
{{- end }}
{{- if and $v.networkPolicy.enabled $v.ingress.enabled $c.ingressPaths $c.reachableFrom }}
{{- $errors = append $errors (printf "%s has ingressPaths, but with networkPolicy.enabled its reachableFrom admits only %s, so the ingress controller could not reach it: clear %s.reachableFrom or %s.ingressPaths" $at (join ", " $c.reachableFrom) $at $at) }}
{{- end }}
{{- if gt (int $c.autoscaling.minReplicas) (int $c.autoscaling.maxReplicas) }}
{{- $errors = append $errors (printf "%s.autoscaling.minReplicas (%d) is greater than %s.autoscaling.maxReplicas (%d)" $at (int $c.autoscaling.minReplicas) $at (int $c.autoscaling.maxReplicas)) }}
{{- end }}
{{- if and $v.podDisruptionBudget.enabled (not $v.autoscaling.enabled) (le (int $c.replicaCount) (int $v.podDisruptionBudget.minAvailable)) }}
{{- $errors = append $errors (printf "podDisruptionBudget.minAvailable (%d) leaves no pod of %s (replicaCount %d) to evict, so node drains would hang: raise %s.replicaCount or turn podDisruptionBudget off" (int $v.podDisruptionBudget.minAvailable) $name (int $c.replicaCount) $at) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $v.ingress.enabled (not $pathOwner) }}
{{- $errors = append $errors "ingress.enabled is true but no enabled component has ingressPaths: add a path such as / to one, or set ingress.enabled=false" }}
{{- end }}
{{- if and $v.migrations.enabled (not (dig $v.migrations.component "enabled" false $v.components)) }}
{{- $errors = append $errors (printf "migrations.component is %s, which is not an enabled component: the Job runs in that component's image, so name one of: %s" $v.migrations.component (join ", " $enabled)) }}
{{- end }}
{{- if $errors }}
{{- fail (printf "\n\nInvalid values for the taskflow chart:\n  - %s\n" (join "\n  - " $errors)) }}
{{- end }}
{{- end }}
