{{/* The chart's Secret: which one the pods read, what it holds, and the env entries that reference it. */}}

{{/* The Secret the pods read: the user's existing one or the chart's own. */}}
{{- define "taskflow.secretName" -}}
{{- default (include "taskflow.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/*
The keys the chart's own Secret can hold besides secrets.extra, and how each gets its value: whether
the pods need it, the values key that sets it, whether the chart generates it. Data, not code, so an
app with other secrets changes the file, not the templates; the toolkit reads the same file.
*/}}
{{- define "taskflow.secretKeys" -}}
{{- .Files.Get "files/secret-keys.yaml" }}
{{- end }}

{{/* The Secret key a secretEnv item reads: the item itself, or its "key" when it renames ({name, key}). */}}
{{- define "taskflow.secretEnvKey" -}}
{{- if kindIs "map" . }}{{ .key }}{{ else }}{{ . }}{{ end }}
{{- end }}

{{/*
The chart Secret's data as YAML (plain text; the Secret template encodes it), filled as
files/secret-keys.yaml says. Each generated value is kept from the live Secret on upgrade (lookup),
so an upgrade never rotates the database password under an existing volume or logs every user out.
Order: a value given in values > the live value > a new random one.
*/}}
{{- define "taskflow.secretData" -}}
{{- if not (hasKey .Values "__secretData") }}
{{- $root := . }}
{{- $live := (lookup "v1" "Secret" .Release.Namespace (include "taskflow.fullname" .)) | default dict }}
{{- $liveData := $live.data | default dict }}
{{- $read := list }}
{{- range $name, $c := .Values.components }}
{{- if $c.enabled }}
{{- range $c.secretEnv }}{{- $read = append $read (include "taskflow.secretEnvKey" .) }}{{- end }}
{{- end }}
{{- end }}
{{- $data := dict }}
{{- range $key, $spec := include "taskflow.secretKeys" . | fromYaml }}
{{- if not $spec.database }}
{{- /* The value at the dotted valuesKey, e.g. secrets.betterAuthSecret. */}}
{{- $value := $root.Values }}
{{- range splitList "." $spec.valuesKey }}{{- $value = get $value . }}{{- end }}
{{- if and (not $value) $spec.generate }}{{- $value = get $liveData $key | b64dec }}{{- end }}
{{- if and (not $value) $spec.generate (or (not $spec.generateOnlyWhenRead) (has $key $read)) }}
{{- $value = randAlphaNum (int $spec.generate) }}
{{- end }}
{{- if $value }}{{- $_ := set $data $key $value }}{{- end }}
{{- end }}
{{- end }}
{{- /*
The chart's own database stays in code: POSTGRES_PASSWORD exists only with the in-cluster
PostgreSQL, and DATABASE_URL is built from it here, in one place, so the two always agree.
*/}}
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
      {{- if ne (dig $key "need" "" $chartKeys) "required" }}
      optional: true
      {{- end }}
      {{- end }}
{{- end }}
{{- end }}
