{{/* How traffic finds a component: its in-cluster URL, and the Ingress paths that route to it. */}}

{{/* A component's in-cluster URL, "http://<fullname>-<component>:<service port>", for another component's serviceUrls. */}}
{{- define "taskflow.serviceUrl" -}}
{{- $target := index .context.Values.components .component | default dict }}
{{- printf "http://%s:%d" (include "taskflow.componentName" .) (int (dig "service" "port" 0 $target)) }}
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
