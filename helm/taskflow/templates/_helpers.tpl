{{/*
Names and labels, as `helm create` has them. Helpers take named arguments: "context" is the root ($),
"component" is always a component's name (a key of .Values.components, or one of the chart's own:
postgresql, migration, app, test). The other helpers live in files named for what they do:
_secrets.tpl, _pod.tpl, _routes.tpl, _validate.tpl.
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

{{/* Host of the in-cluster PostgreSQL (its Service). */}}
{{- define "taskflow.postgresql.host" -}}
{{- include "taskflow.componentName" (dict "context" . "component" "postgresql") }}
{{- end }}
