{{/*
Helpers shared by every template. A "service context" is a dict with:
  root: the top-level context ($), name: the service's name, svc: its values.
*/}}

{{- define "sagaflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sagaflow.fullname" -}}
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

{{/* The name of one service's objects: <fullname>-<service>. */}}
{{- define "sagaflow.componentName" -}}
{{- printf "%s-%s" (include "sagaflow.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sagaflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sagaflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sagaflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sagaflow.labels" -}}
helm.sh/chart: {{ include "sagaflow.chart" . }}
{{ include "sagaflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sagaflow
{{- end }}

{{/* Labels of one service's objects (service context). */}}
{{- define "sagaflow.componentLabels" -}}
{{ include "sagaflow.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "sagaflow.componentSelectorLabels" -}}
{{ include "sagaflow.selectorLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "sagaflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sagaflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest is set. */}}
{{- define "sagaflow.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* This service's database name (service context). */}}
{{- define "sagaflow.databaseName" -}}
{{- $db := .svc.database | default dict }}
{{- default (printf "sagaflow_%s" .name) $db.name }}
{{- end }}

{{/* This service's PostgreSQL host (service context). */}}
{{- define "sagaflow.databaseHost" -}}
{{- $db := .svc.database | default dict }}
{{- required "postgres.host is required" (default .root.Values.postgres.host $db.host) }}
{{- end }}

{{/* postgres://user@host:port/<database>?sslmode=..; the password is PGPASSWORD. */}}
{{- define "sagaflow.postgresURL" -}}
{{- $pg := .root.Values.postgres }}
{{- printf "postgres://%s@%s:%v/%s?sslmode=%s" (urlquery $pg.user) (include "sagaflow.databaseHost" .) $pg.port .database $pg.sslMode }}
{{- end }}

{{/* librdkafka properties, one per line (so a comma or `;` in the SASL password is
plain text); SASL credentials come from env vars. */}}
{{- define "sagaflow.kafkaProperties" -}}
{{- $k := .Values.kafka }}
{{- $props := list }}
{{- if and $k.tls.enabled $k.sasl.enabled }}
{{- $props = append $props "security.protocol=SASL_SSL" }}
{{- else if $k.sasl.enabled }}
{{- $props = append $props "security.protocol=SASL_PLAINTEXT" }}
{{- else if $k.tls.enabled }}
{{- $props = append $props "security.protocol=SSL" }}
{{- end }}
{{- if $k.sasl.enabled }}
{{- $props = append $props (printf "sasl.mechanism=%s" $k.sasl.mechanism) }}
{{- $props = append $props "sasl.username=$(KAFKA_SASL_USERNAME)" }}
{{- $props = append $props "sasl.password=$(KAFKA_SASL_PASSWORD)" }}
{{- end }}
{{- if $k.tls.enabled }}
{{- if $k.tls.caSecret }}
{{- $props = append $props (printf "ssl.ca.location=/etc/sagaflow/kafka-ca/%s" $k.tls.caKey) }}
{{- else }}
{{- $props = append $props "ssl.ca.location=/etc/ssl/certs/ca-certificates.crt" }}
{{- end }}
{{- if $k.tls.clientCertSecret }}
{{- $props = append $props (printf "ssl.certificate.location=/etc/sagaflow/kafka-client/%s" $k.tls.clientCertKey) }}
{{- $props = append $props (printf "ssl.key.location=/etc/sagaflow/kafka-client/%s" $k.tls.clientKeyKey) }}
{{- end }}
{{- end }}
{{- range $key, $value := $k.properties }}
{{- $props = append $props (printf "%s=%v" $key $value) }}
{{- end }}
{{- join "\n" $props }}
{{- end }}

{{/*
Env entries with secrets or references (context: dict root, svc; svc may be empty):
the Kafka SASL credentials, KAFKA_PROPERTIES (which refers to them as $(VAR), so it
comes after them), the service-token secrets (serviceTokens) and PGPASSWORD (the service's own database Secret, else
postgres.existingSecret).
*/}}
{{- define "sagaflow.secretEnv" -}}
{{- $v := .root.Values }}
{{- $k := $v.kafka }}
{{- $db := (.svc | default dict).database | default dict }}
{{- if $k.sasl.enabled }}
- name: KAFKA_SASL_USERNAME
  {{- if $k.sasl.username }}
  value: {{ $k.sasl.username | quote }}
  {{- else }}
  valueFrom:
    secretKeyRef:
      name: {{ required "kafka.sasl.existingSecret is required when SASL is on" $k.sasl.existingSecret }}
      key: {{ $k.sasl.usernameKey }}
  {{- end }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "kafka.sasl.existingSecret is required when SASL is on" $k.sasl.existingSecret }}
      key: {{ $k.sasl.passwordKey }}
{{- end }}
- name: KAFKA_PROPERTIES
  value: {{ include "sagaflow.kafkaProperties" .root | quote }}
{{- with $v.serviceTokens }}
- name: SAGAFLOW_INTERNAL_TOKEN_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ required "serviceTokens.existingSecret is required" .existingSecret }}
      key: {{ .internalKey }}
- name: SAGAFLOW_OPERATOR_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ required "serviceTokens.existingSecret is required" .existingSecret }}
      key: {{ .operatorKey }}
{{- end }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "postgres.existingSecret is required" (default $v.postgres.existingSecret $db.existingSecret) }}
      key: {{ default $v.postgres.passwordKey $db.passwordKey }}
{{- if $v.postgres.caSecret }}
- name: PGSSLROOTCERT
  value: /etc/sagaflow/postgres-ca/{{ $v.postgres.caKey }}
{{- end }}
{{- end }}

{{/* Volumes every pod mounts: /tmp, and the CA / client certificates when set. */}}
{{- define "sagaflow.commonVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecret }}
    defaultMode: 0440
{{- end }}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.clientCertSecret }}
- name: kafka-client
  secret:
    secretName: {{ .Values.kafka.tls.clientCertSecret }}
    defaultMode: 0440
{{- end }}
{{- if .Values.postgres.caSecret }}
- name: postgres-ca
  secret:
    secretName: {{ .Values.postgres.caSecret }}
    defaultMode: 0440
{{- end }}
{{- end }}

{{- define "sagaflow.commonVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecret }}
- name: kafka-ca
  mountPath: /etc/sagaflow/kafka-ca
  readOnly: true
{{- end }}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.clientCertSecret }}
- name: kafka-client
  mountPath: /etc/sagaflow/kafka-client
  readOnly: true
{{- end }}
{{- if .Values.postgres.caSecret }}
- name: postgres-ca
  mountPath: /etc/sagaflow/postgres-ca
  readOnly: true
{{- end }}
{{- end }}

{{/*
One service's plain settings (service context), as a YAML map: the ConfigMap's data,
and the input of the pod's checksum annotation so a change rolls the pods. Later
sources win: chart settings, then `env`, then the service's own `env`.
*/}}
{{- define "sagaflow.serviceConfig" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $cfg := dict }}
{{- $_ := set $cfg "KAFKA_BOOTSTRAP_SERVERS" (required "kafka.bootstrapServers is required" $v.kafka.bootstrapServers) }}
{{- $_ = set $cfg "KAFKA_PARTITIONS" (toString $v.kafka.partitions) }}
{{- $_ = set $cfg "KAFKA_REPLICATION_FACTOR" (toString $v.kafka.replicationFactor) }}
{{- $_ = set $cfg "KAFKA_SESSION_TIMEOUT_MS" (toString $v.kafka.sessionTimeoutMs) }}
{{- $_ = set $cfg "KAFKA_LINGER_MS" (toString $v.kafka.lingerMs) }}
{{- $_ = set $cfg "KAFKA_FETCH_WAIT_MAX_MS" (toString $v.kafka.fetchWaitMaxMs) }}
{{- if $v.kafka.schemaRegistryUrl }}
{{- $_ = set $cfg "SCHEMA_REGISTRY_URL" (toString $v.kafka.schemaRegistryUrl) }}
{{- end }}
{{- $_ = set $cfg "RUST_LOG" (toString $v.log.level) }}
{{- $_ = set $cfg "LOG_FORMAT" (toString $v.log.format) }}
{{- $_ = set $cfg "METRICS_LISTEN" (printf "0.0.0.0:%v" $v.metrics.port) }}
{{- $_ = set $cfg "DATABASE_URL" (include "sagaflow.postgresURL" (dict "root" $root "svc" .svc "name" .name "database" (include "sagaflow.databaseName" .))) }}
{{- $_ = set $cfg "OTEL_SERVICE_NAME" (printf "sagaflow-%s" .name) }}
{{- if $v.tracing.otlpEndpoint }}
{{- $_ = set $cfg "OTEL_EXPORTER_OTLP_ENDPOINT" (toString $v.tracing.otlpEndpoint) }}
{{- $_ = set $cfg "OTEL_EXPORTER_OTLP_PROTOCOL" (toString $v.tracing.protocol) }}
{{- end }}
{{- if .svc.http }}
{{- $_ = set $cfg .svc.http.listenEnv (printf "0.0.0.0:%v" .svc.http.port) }}
{{- end }}
{{- range $key, $target := .svc.upstreams }}
{{- $up := index $v.services $target | default dict }}
{{- if and $up.enabled $up.http }}
{{- $_ = set $cfg $key (printf "http://%s:%v" (include "sagaflow.componentName" (dict "root" $root "name" $target)) $up.http.port) }}
{{- end }}
{{- end }}
{{- range $key, $value := $v.env }}
{{- $_ = set $cfg $key (toString $value) }}
{{- end }}
{{- range $key, $value := .svc.env }}
{{- $_ = set $cfg $key (toString $value) }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/* Resources of a service, or the defaults. */}}
{{- define "sagaflow.resources" -}}
{{- toYaml (default .root.Values.defaultResources .svc.resources) }}
{{- end }}
