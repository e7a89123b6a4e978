{{/* The backend and frontend share one shape; these defines render it for either component. */}}

{{/* The component's plain settings. The frontend always learns the backend's in-cluster URL here, at run time. */}}
{{- define "taskflow.configData" -}}
{{- $root := index . 0 }}{{- $component := index . 1 -}}
{{- $c := index $root.Values $component -}}
{{- $data := dict "PORT" (toString $c.containerPort) }}
{{- if eq $component "frontend" }}
{{- $_ := set $data "BACKEND_URL" (printf "http://%s:%d" (include "taskflow.componentName" (list $root "backend")) (int $root.Values.backend.service.port)) }}
{{- end }}
{{- range $k, $v := $c.env }}
{{- $_ := set $data $k (toString $v) }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{- define "taskflow.configMap" -}}
{{- $root := index . 0 }}{{- $component := index . 1 -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "taskflow.componentName" (list $root $component) }}
  labels:
    {{- include "taskflow.labels" (list $root $component) | nindent 4 }}
data:
  {{- include "taskflow.configData" (list $root $component) | nindent 2 }}
{{- end }}

{{- define "taskflow.deployment" -}}
{{- $root := index . 0 }}{{- $component := index . 1 -}}
{{- $c := index $root.Values $component -}}
{{- $name := include "taskflow.componentName" (list $root $component) }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "taskflow.labels" (list $root $component) | nindent 4 }}
  {{- with $root.Values.commonAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- if not $root.Values.autoscaling.enabled }}
  replicas: {{ $c.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "taskflow.selectorLabels" (list $root $component) | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      # Never fewer ready pods than asked for: a new pod must be ready before an old one goes.
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
        {{- include "taskflow.labels" (list $root $component) | nindent 8 }}
      annotations:
        # A changed setting or secret changes these, which rolls the pods to pick it up.
        checksum/config: {{ include "taskflow.configData" (list $root $component) | sha256sum }}
        checksum/secret: {{ include "taskflow.secretChecksum" $root }}
        {{- with $c.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "taskflow.serviceAccountName" $root }}
      automountServiceAccountToken: false
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- range . }}
        - name: {{ . }}
        {{- end }}
      {{- end }}
      securityContext:
        {{- include "taskflow.podSecurityContext" (list $root $c.runAsUser) | nindent 8 }}
      terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}
      {{- with include "taskflow.antiAffinity" (list $root $component $c) }}
      {{- . | trim | nindent 6 }}
      {{- end }}
      {{- with $c.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $component }}
          image: {{ include "taskflow.image" (list $root $c.image) | quote }}
          imagePullPolicy: {{ $c.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ $c.containerPort }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ $name }}
          {{- with $c.secretEnv }}
          env:
            {{- include "taskflow.secretEnv" (list $root .) | trim | nindent 12 }}
          {{- end }}
          {{- include "taskflow.httpProbes" $c | nindent 10 }}
          lifecycle:
            preStop:
              # Keeps serving while the endpoint removal reaches every proxy, so a rollout drops no request.
              exec:
                command: ["sleep", "{{ $c.preStopSleepSeconds }}"]
          resources:
            {{- toYaml $c.resources | nindent 12 }}
          securityContext:
            {{- include "taskflow.containerSecurityContext" $root | nindent 12 }}
          volumeMounts:
            {{- include "taskflow.writableMounts" $c.writablePaths | trim | nindent 12 }}
      volumes:
        {{- include "taskflow.writableVolumes" $c.writablePaths | trim | nindent 8 }}
{{- end }}

{{- define "taskflow.service" -}}
{{- $root := index . 0 }}{{- $component := index . 1 -}}
{{- $c := index $root.Values $component -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "taskflow.componentName" (list $root $component) }}
  labels:
    {{- include "taskflow.labels" (list $root $component) | nindent 4 }}
  {{- with $root.Values.commonAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $c.service.type }}
  selector:
    {{- include "taskflow.selectorLabels" (list $root $component) | nindent 4 }}
  ports:
    - name: http
      port: {{ $c.service.port }}
      targetPort: http
      protocol: TCP
      {{- if and (eq $c.service.type "NodePort") $c.service.nodePort }}
      nodePort: {{ $c.service.nodePort }}
      {{- end }}
{{- end }}

{{- define "taskflow.hpa" -}}
{{- $root := index . 0 }}{{- $component := index . 1 -}}
{{- $h := index $root.Values.autoscaling $component -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "taskflow.componentName" (list $root $component) }}
  labels:
    {{- include "taskflow.labels" (list $root $component) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "taskflow.componentName" (list $root $component) }}
  minReplicas: {{ $h.minReplicas }}
  maxReplicas: {{ $h.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $h.targetCPUUtilizationPercentage }}
{{- end }}

{{- define "taskflow.pdb" -}}
{{- $root := index . 0 }}{{- $component := index . 1 -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "taskflow.componentName" (list $root $component) }}
  labels:
    {{- include "taskflow.labels" (list $root $component) | nindent 4 }}
spec:
  minAvailable: {{ $root.Values.podDisruptionBudget.minAvailable }}
  selector:
    matchLabels:
      {{- include "taskflow.selectorLabels" (list $root $component) | nindent 6 }}
{{- end }}
