{{/* The checks validate.yaml runs before anything renders: what the schema cannot express. */}}

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
{{- $reserved := (.Files.Get "files/reserved-names.yaml" | fromYaml).names }}
{{- $pathOwner := dict }}
{{- $enabled := list }}
{{- range $name, $c := $v.components }}{{ if $c.enabled }}{{ $enabled = append $enabled $name }}{{ end }}{{ end }}
{{- range $name, $c := $v.components }}
{{- $at := printf "components.%s" $name }}
{{- if has $name $reserved }}
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
