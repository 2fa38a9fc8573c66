{{/* Labels on every object of the release. */}}
{{- define "istio-lite.labels" -}}
app.kubernetes.io/name: istio-lite
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Namespaces the injector is never called for, so a broken injector never blocks them. */}}
{{- define "istio-lite.excludedNamespaces" -}}
- key: kubernetes.io/metadata.name
  operator: NotIn
  values: [kube-system, kube-public, kube-node-lease, {{ .Release.Namespace | quote }}]
{{- end }}
