{{/* Name of the chart, and of every resource unless the release already says "ges". */}}
{{- define "ges.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ges.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ges.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ges.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ges.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ges.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "ges.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The existing Secret holding DATABASE_URL (and ADMIN_TOKEN): the chart never creates it. */}}
{{- define "ges.secretName" -}}
{{- required "secrets.existingSecret: name the Secret that holds DATABASE_URL (docs/DEPLOYMENT.md)" .Values.secrets.existingSecret -}}
{{- end -}}

{{/*
GES settings as name/value pairs: config.env without empty values (GES defaults them), plus
SECRETS_DIRS pointing at the mounted Secret. Shared by the ConfigMap and the migration Job (a
pre-install hook runs before the ConfigMap exists). Fails on a setting that belongs to the Secret.
*/}}
{{- define "ges.settings" -}}
{{- $settings := dict -}}
{{- range $name, $value := .Values.config.env -}}
{{- if has $name $.Values.secrets.keys -}}
{{- fail (printf "config.env.%s: put %s in the Secret %q, not in values" $name $name (toString $.Values.secrets.existingSecret)) -}}
{{- end -}}
{{- /* Helm reads numbers as floats: write 2097152, not 2.097152e+06. */ -}}
{{- $text := kindIs "float64" $value | ternary (int64 $value | toString) (toString $value) -}}
{{- if ne $text "" -}}
{{- $_ := set $settings $name $text -}}
{{- end -}}
{{- end -}}
{{- $_ := set $settings "SECRETS_DIRS" .Values.secrets.mountPath -}}
{{- toYaml $settings -}}
{{- end -}}

{{/* The Secret as a read-only volume; its keys become files named after GES settings. */}}
{{- define "ges.secretVolume" -}}
- name: ges-secrets
  secret:
    secretName: {{ include "ges.secretName" . }}
    defaultMode: 0440
{{- end -}}

{{- define "ges.secretVolumeMount" -}}
- name: ges-secrets
  mountPath: {{ .Values.secrets.mountPath }}
  readOnly: true
{{- end -}}

{{/*
Ingress annotations: the user's, plus (when ingress.refuseContactCenterHeaders) an ingress-nginx
snippet answering 400 to a request with a non-empty ccid or ContactCenterID header, appended to a
configuration snippet the user may already have.
*/}}
{{- define "ges.ingressAnnotations" -}}
{{- $annotations := deepCopy (default (dict) .annotations) -}}
{{- if .root.Values.ingress.refuseContactCenterHeaders -}}
{{- $key := "nginx.ingress.kubernetes.io/configuration-snippet" -}}
{{- $refuse := "if ($http_ccid != \"\") { return 400; }\nif ($http_contactcenterid != \"\") { return 400; }\n" -}}
{{- $existing := toString (default "" (get $annotations $key)) -}}
{{- if and $existing (not (hasSuffix "\n" $existing)) -}}
{{- $existing = printf "%s\n" $existing -}}
{{- end -}}
{{- $_ := set $annotations $key (printf "%s%s" $existing $refuse) -}}
{{- end -}}
{{- if $annotations -}}
{{- toYaml $annotations -}}
{{- end -}}
{{- end -}}
