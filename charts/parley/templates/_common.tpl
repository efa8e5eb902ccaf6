{{/* The release's full name: the release name, with the chart's name
appended unless it already holds it. */}}
{{- define "parley.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; call with (dict "root" $ "component" "edge"). */}}
{{- define "parley.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{ include "parley.selectorLabels" . }}
{{- end -}}

{{/* Labels that select one component's pods. */}}
{{- define "parley.selectorLabels" -}}
app.kubernetes.io/name: parley
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "parley.serviceAccountName" -}}
{{- default (include "parley.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "parley.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The base URL of auth inside the cluster, for its keys. */}}
{{- define "parley.authURL" -}}
{{- printf "http://%s-auth:%v" (include "parley.fullname" .) .Values.auth.port -}}
{{- end -}}

{{/* Environment every service reads. Call with (dict "root" $ "c" .Values.edge). */}}
{{- define "parley.commonEnv" -}}
- name: PARLEY_ADDR
  value: {{ printf ":%v" .c.port | quote }}
- name: PARLEY_LOG_FORMAT
  value: {{ .root.Values.config.logFormat | quote }}
- name: PARLEY_LOG_LEVEL
  value: {{ .root.Values.config.logLevel | quote }}
- name: PARLEY_SHUTDOWN_GRACE
  value: {{ printf "%ds" (int .root.Values.shutdownGraceSeconds) | quote }}
{{- end -}}

{{- define "parley.redisEnv" -}}
- name: PARLEY_REDIS_URL
{{- if .Values.redis.existingSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret }}
      key: {{ .Values.redis.secretKey }}
{{- else }}
  value: {{ required "redis.url or redis.existingSecret is required" .Values.redis.url | quote }}
{{- end }}
{{- end -}}

{{/* The signing key files, comma-separated, in the Secret's order. */}}
{{- define "parley.keyFiles" -}}
{{- $files := list -}}
{{- range .keys -}}
{{- $files = append $files (printf "%s/%s" $.dir .) -}}
{{- end -}}
{{- join "," $files -}}
{{- end -}}

{{- define "parley.databaseEnv" -}}
- name: PARLEY_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret is required" .Values.database.existingSecret }}
      key: {{ .Values.database.secretKey }}
{{- end -}}

{{/* The pod-level settings every Deployment shares; call with the same
dict as parley.commonEnv. */}}
{{- define "parley.podSpec" -}}
serviceAccountName: {{ include "parley.serviceAccountName" .root }}
automountServiceAccountToken: false
terminationGracePeriodSeconds: {{ add .root.Values.preStopSleepSeconds .root.Values.shutdownGraceSeconds 5 }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .root.Values.spreadAcrossNodes }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "parley.selectorLabels" (dict "root" .root "component" .component) | nindent 8 }}
{{- end }}
{{- end -}}

{{/* The container settings every service shares: image, port, probes,
resources, security and the pause before SIGTERM. */}}
{{- define "parley.container" -}}
image: {{ include "parley.image" .root }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
command: ["/usr/local/bin/{{ .component }}"]
ports:
  - name: http
    containerPort: {{ .c.port }}
    protocol: TCP
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
startupProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: 2
  failureThreshold: 30
{{- if .root.Values.preStopSleepSeconds }}
lifecycle:
  preStop:
    sleep:
      seconds: {{ .root.Values.preStopSleepSeconds }}
{{- end }}
resources:
  {{- toYaml .c.resources | nindent 2 }}
securityContext:
  {{- toYaml .root.Values.securityContext | nindent 2 }}
{{- end -}}

{{/* Checks that settings agree before anything renders. */}}
{{- define "parley.validate" -}}
{{- if ge (int .Values.drainWindowSeconds) (int .Values.shutdownGraceSeconds) -}}
{{- fail "drainWindowSeconds must be shorter than shutdownGraceSeconds" -}}
{{- end -}}
{{- if not .Values.signingKeys.keys -}}
{{- fail "signingKeys.keys must name at least one key of the Secret" -}}
{{- end -}}
{{- end -}}
