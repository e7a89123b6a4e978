{{/* Blocks the pod specs repeat: security contexts, probes, writable volumes, anti-affinity, a component's plain settings. */}}

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

{{/*
The exec command of all three PostgreSQL probes, so they agree on what "up" means. Over TCP, not the
socket: on first boot the image's init server listens on the socket only and must not count as up.
*/}}
{{- define "taskflow.postgresql.isReadyCommand" -}}
{{- $pg := .context.Values.postgresql -}}
["pg_isready", "-h", "127.0.0.1", "-p", "{{ $pg.port }}", "-U", "{{ $pg.auth.username }}", "-d", "{{ $pg.auth.database }}"]
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
