{{/* Names and labels. */}}
{{- define "leadtemp.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "leadtemp.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "leadtemp.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "leadtemp.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The settings every process shares (streams/plumbing/settings.py: Connections). */}}
{{- define "leadtemp.env" -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ required "kafka.bootstrapServers is required" .Values.kafka.bootstrapServers | quote }}
- name: LEADTEMP_KAFKA_SECURITY_PROTOCOL
  value: {{ .Values.kafka.securityProtocol | quote }}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol }}
- name: LEADTEMP_KAFKA_SASL_MECHANISM
  value: {{ .Values.kafka.saslMechanism | quote }}
- name: LEADTEMP_KAFKA_USERNAME
  value: {{ required "kafka.username is required with SASL" .Values.kafka.username | quote }}
- name: LEADTEMP_KAFKA_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "kafka.passwordSecret.name is required with SASL" .Values.kafka.passwordSecret.name }}
      key: {{ .Values.kafka.passwordSecret.key }}
{{- end }}
{{- with .Values.kafka.tlsSecret }}
{{- if .name }}
- name: LEADTEMP_KAFKA_CA_FILE
  value: /etc/leadtemp/kafka-tls/{{ .caKey }}
{{- if .certKey }}
- name: LEADTEMP_KAFKA_CERT_FILE
  value: /etc/leadtemp/kafka-tls/{{ .certKey }}
- name: LEADTEMP_KAFKA_KEY_FILE
  value: /etc/leadtemp/kafka-tls/{{ required "kafka.tlsSecret.keyKey is required with certKey" .keyKey }}
{{- end }}
{{- end }}
{{- end }}
- name: REDIS_URL
  value: {{ required "redis.url is required" .Values.redis.url | quote }}
- name: LEADTEMP_REDIS_CLUSTER
  value: {{ .Values.redis.cluster | quote }}
- name: LEADTEMP_REDIS_PREFIX
  value: {{ .Values.redis.prefix | quote }}
{{- with .Values.redis.username }}
- name: LEADTEMP_REDIS_USERNAME
  value: {{ . | quote }}
{{- end }}
{{- if .Values.redis.passwordSecret.name }}
- name: LEADTEMP_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.passwordSecret.name }}
      key: {{ .Values.redis.passwordSecret.key }}
{{- end }}
{{- with .Values.redis.tlsSecret }}
{{- if .name }}
- name: LEADTEMP_REDIS_CA_FILE
  value: /etc/leadtemp/redis-tls/{{ .caKey }}
{{- if .certKey }}
- name: LEADTEMP_REDIS_CERT_FILE
  value: /etc/leadtemp/redis-tls/{{ .certKey }}
- name: LEADTEMP_REDIS_KEY_FILE
  value: /etc/leadtemp/redis-tls/{{ required "redis.tlsSecret.keyKey is required with certKey" .keyKey }}
{{- end }}
{{- end }}
{{- end }}
- name: LEADTEMP_TOPIC_PREFIX
  value: {{ .Values.topics.prefix | quote }}
- name: LEADTEMP_PARTITIONS
  value: {{ .Values.topics.partitions | quote }}
- name: LEADTEMP_REPLICATION_FACTOR
  value: {{ .Values.topics.replicationFactor | quote }}
- name: LEADTEMP_MIN_INSYNC_REPLICAS
  value: {{ .Values.topics.minInsyncReplicas | quote }}
{{- with .Values.topics.inputRetentionDays }}
- name: LEADTEMP_INPUT_RETENTION_DAYS
  value: {{ . | quote }}
{{- end }}
- name: LEADTEMP_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
{{- if .Values.rules }}
- name: LEADTEMP_RULES
  value: /etc/leadtemp/rules/rules.yaml
{{- end }}
{{- end -}}

{{/* Volumes of the TLS files, the rules and a writable /tmp (the root file system is read-only). */}}
{{- define "leadtemp.volumes" -}}
- name: tmp
  emptyDir: {}
{{- if .Values.kafka.tlsSecret.name }}
- name: kafka-tls
  secret:
    secretName: {{ .Values.kafka.tlsSecret.name }}
{{- end }}
{{- if .Values.redis.tlsSecret.name }}
- name: redis-tls
  secret:
    secretName: {{ .Values.redis.tlsSecret.name }}
{{- end }}
{{- if .Values.rules }}
- name: rules
  configMap:
    name: {{ include "leadtemp.fullname" . }}-rules
{{- end }}
{{- end -}}

{{- define "leadtemp.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tlsSecret.name }}
- name: kafka-tls
  mountPath: /etc/leadtemp/kafka-tls
  readOnly: true
{{- end }}
{{- if .Values.redis.tlsSecret.name }}
- name: redis-tls
  mountPath: /etc/leadtemp/redis-tls
  readOnly: true
{{- end }}
{{- if .Values.rules }}
- name: rules
  mountPath: /etc/leadtemp/rules
  readOnly: true
{{- end }}
{{- end -}}
