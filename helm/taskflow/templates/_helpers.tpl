{{/* Naming, labels and the small blocks every workload repeats. */}}

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
{{- $root := index . 0 }}{{- $component := index . 1 -}}
{{- printf "%s-%s" (include "taskflow.fullname" $root | trunc (int (sub 62 (len $component)))) $component | trimSuffix "-" }}
{{- end }}

{{/* "name-version" for the helm.sh/chart label ("+" is not allowed in label values). */}}
{{- define "taskflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The only labels selectors use: they never change over a release's life, so Deployments can be upgraded in place. */}}
{{- define "taskflow.selectorLabels" -}}
{{- $root := index . 0 }}{{- $component := index . 1 -}}
app.kubernetes.io/name: {{ include "taskflow.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ $component }}
{{- end }}

{{/* Every object's labels: the selector labels plus the ones that may change between versions. */}}
{{- define "taskflow.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ include "taskflow.chart" $root }}
{{ include "taskflow.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: {{ $root.Values.partOf }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
{{- end }}

{{/* "repository:tag", the tag defaulting to appVersion so a bare install runs the matching app. */}}
{{- define "taskflow.image" -}}
{{- $root := index . 0 }}{{- $image := index . 1 }}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) }}
{{- end }}

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
{{- include "taskflow.componentName" (list . "postgresql") }}
{{- end }}

{{/*
The exec command of all three PostgreSQL probes, so they agree on what "up" means. Over TCP, not the
socket: on first boot the image's init server listens on the socket only and must not count as up.
*/}}
{{- define "taskflow.postgresql.isReadyCommand" -}}
{{- $pg := .context.Values.postgresql -}}
["pg_isready", "-h", "127.0.0.1", "-p", "{{ $pg.port }}", "-U", "{{ $pg.auth.username }}", "-d", "{{ $pg.auth.database }}"]
{{- end }}

{{/*
The keys the chart's own Secret can hold besides secrets.extra, and whether the pods need each one:
validateValues accepts these in a secretEnv list, and taskflow.secretEnv marks a reference to any
key that is not required (a model API key, a secrets.extra key) optional, so the pod starts without it.
*/}}
{{- define "taskflow.secretKeys" -}}
DATABASE_URL: required
BETTER_AUTH_SECRET: required
POSTGRES_PASSWORD: required
OPENAI_API_KEY: optional
{{- end }}

{{/*
The chart Secret's data as YAML (plain text; the Secret template encodes it). Each generated value
is kept from the live Secret on upgrade (lookup), so an upgrade never rotates the database password
under an existing volume or logs every user out. Order: a value given in values > the live value >
a new random one. Computed in one place so DATABASE_URL and POSTGRES_PASSWORD always agree.
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
{{- $root := index . 0 }}{{- $items := index . 1 -}}
{{- $chartKeys := include "taskflow.secretKeys" $root | fromYaml }}
{{- range $items }}
{{- $name := . }}{{- $key := . }}
{{- if kindIs "map" . }}{{- $name = .name }}{{- $key = .key }}{{- end }}
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

{{/* Pod-level security context of the app pods: Pod Security Standard "restricted". */}}
{{- define "taskflow.podSecurityContext" -}}
{{- $root := index . 0 }}{{- $uid := index . 1 -}}
runAsNonRoot: true
runAsUser: {{ $uid }}
runAsGroup: {{ $uid }}
fsGroup: {{ $uid }}
seccompProfile:
  type: {{ $root.Values.podSecurityContext.seccompProfile.type }}
{{- end }}

{{/* Container-level security context: nothing to escalate, no capabilities, nothing writable but emptyDirs. */}}
{{- define "taskflow.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* Startup, liveness and readiness probes on one HTTP path; startup gives slow first boots time without loosening liveness. */}}
{{- define "taskflow.httpProbes" -}}
{{- $c := . -}}
startupProbe:
  httpGet:
    path: {{ $c.probes.path }}
    port: http
  periodSeconds: {{ $c.probes.startup.periodSeconds }}
  failureThreshold: {{ $c.probes.startup.failureThreshold }}
  timeoutSeconds: {{ $c.probes.startup.timeoutSeconds }}
livenessProbe:
  httpGet:
    path: {{ $c.probes.path }}
    port: http
  periodSeconds: {{ $c.probes.liveness.periodSeconds }}
  failureThreshold: {{ $c.probes.liveness.failureThreshold }}
  timeoutSeconds: {{ $c.probes.liveness.timeoutSeconds }}
readinessProbe:
  httpGet:
    path: {{ $c.probes.path }}
    port: http
  periodSeconds: {{ $c.probes.readiness.periodSeconds }}
  failureThreshold: {{ $c.probes.readiness.failureThreshold }}
  timeoutSeconds: {{ $c.probes.readiness.timeoutSeconds }}
{{- end }}

{{/* One emptyDir per writable path; the volume name is derived from the path so mounts and volumes pair up. */}}
{{- define "taskflow.writableVolumes" -}}
{{- range . }}
- name: {{ printf "writable%s" (. | replace "/" "-" | replace "." "" | replace "_" "-") | lower | trunc 63 | trimSuffix "-" }}
  emptyDir: {}
{{- end }}
{{- end }}

{{- define "taskflow.writableMounts" -}}
{{- range . }}
- name: {{ printf "writable%s" (. | replace "/" "-" | replace "." "" | replace "_" "-") | lower | trunc 63 | trimSuffix "-" }}
  mountPath: {{ . }}
{{- end }}
{{- end }}

{{/* Spreads replicas over nodes once there is more than one (or the HPA may add more). */}}
{{- define "taskflow.antiAffinity" -}}
{{- $root := index . 0 }}{{- $component := index . 1 }}{{- $c := index . 2 -}}
{{- $many := or (gt (int $c.replicaCount) 1) $root.Values.autoscaling.enabled }}
{{- if and $many (ne $c.antiAffinity "none") }}
affinity:
  podAntiAffinity:
    {{- if eq $c.antiAffinity "hard" }}
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "taskflow.selectorLabels" (list $root $component) | nindent 12 }}
    {{- else }}
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "taskflow.selectorLabels" (list $root $component) | nindent 14 }}
    {{- end }}
{{- end }}
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
{{- range $component := list "backend" "frontend" }}
{{- $c := index $v $component -}}
{{- if ge (int $c.preStopSleepSeconds) (int $c.terminationGracePeriodSeconds) }}
{{- $errors = append $errors (printf "%s.preStopSleepSeconds (%d) must be less than %s.terminationGracePeriodSeconds (%d), or SIGTERM comes after the pod is killed" $component (int $c.preStopSleepSeconds) $component (int $c.terminationGracePeriodSeconds)) }}
{{- end }}
{{- range $k, $_ := $c.env }}
{{- if regexMatch $secretish $k }}
{{- $errors = append $errors (printf "%s.env.%s looks like a secret and would land in a ConfigMap: move it to secrets.extra.%s and list it in %s.secretEnv" $component $k $k $component) }}
{{- end }}
{{- end }}
{{- if not $v.secrets.existingSecret }}
{{- range $c.secretEnv }}
{{- $key := . }}{{- if kindIs "map" . }}{{- $key = .key }}{{- end }}
{{- if not (has $key $known) }}
{{- $errors = append $errors (printf "%s.secretEnv names %s, which the chart's Secret does not hold: add secrets.extra.%s or remove it" $component $key $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- $hpa := index $v.autoscaling $component }}
{{- if gt (int $hpa.minReplicas) (int $hpa.maxReplicas) }}
{{- $errors = append $errors (printf "autoscaling.%s.minReplicas (%d) is greater than autoscaling.%s.maxReplicas (%d)" $component (int $hpa.minReplicas) $component (int $hpa.maxReplicas)) }}
{{- end }}
{{- end }}
{{- if and $v.podDisruptionBudget.enabled (not $v.autoscaling.enabled) }}
{{- range $component := list "backend" "frontend" }}
{{- if le (int (index $v $component).replicaCount) (int $v.podDisruptionBudget.minAvailable) }}
{{- $errors = append $errors (printf "podDisruptionBudget.minAvailable (%d) leaves no pod of %s (replicaCount %d) to evict, so node drains would hang: raise %s.replicaCount or turn podDisruptionBudget off" (int $v.podDisruptionBudget.minAvailable) $component (int (index $v $component).replicaCount) $component) }}
{{- end }}
{{- end }}
{{- end }}
{{- if $errors }}
{{- fail (printf "\n\nInvalid values for the taskflow chart:\n  - %s\n" (join "\n  - " $errors)) }}
{{- end }}
{{- end }}
