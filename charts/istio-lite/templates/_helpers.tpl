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

{{/* An image reference: istio-lite.image (dict "root" $ "name" "istio-lite") */}}
{{- define "istio-lite.image" -}}
{{- $hub := .root.Values.global.hub -}}
{{- if $hub }}{{ $hub }}/{{ end }}{{ .name }}:{{ .root.Values.global.tag }}
{{- end }}

{{/* The pod security context every control-plane pod runs with. */}}
{{- define "istio-lite.podSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 1337
  runAsGroup: 1337
  fsGroup: 1337
  seccompProfile:
    type: RuntimeDefault
{{- end }}

{{/* The container security context: non-root, read-only root, no privileges. */}}
{{- define "istio-lite.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  privileged: false
  capabilities:
    drop: [ALL]
{{- end }}

{{/* Preferred anti-affinity on the app label when ha.antiAffinity: istio-lite.affinity (dict "root" $ "app" "istio-pilot") */}}
{{- define "istio-lite.affinity" -}}
{{- if .root.Values.ha.antiAffinity }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              app: {{ .app }}
{{- end }}
{{- end }}

{{/* A PodDisruptionBudget when ha.podDisruptionBudget: istio-lite.pdb (dict "root" $ "app" "istio-pilot") */}}
{{- define "istio-lite.pdb" -}}
{{- if .root.Values.ha.podDisruptionBudget }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .app }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    app: {{ .app }}
    {{- include "istio-lite.labels" .root | nindent 4 }}
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app: {{ .app }}
{{- end }}
{{- end }}
