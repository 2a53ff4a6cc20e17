{{- define "podvisor.labels" -}}
app.kubernetes.io/name: podvisor
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "podvisor.operatorName" -}}{{ .Release.Name }}-operator{{- end -}}
{{- define "podvisor.launcherServiceAccount" -}}{{ .Release.Name }}-launcher{{- end -}}

{{- define "podvisor.image" -}}
{{- printf "%s:%s" .image.repository (default .chart.AppVersion .image.tag) -}}
{{- end -}}
