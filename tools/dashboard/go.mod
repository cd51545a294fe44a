// Validates the mixin's Grafana dashboard against Grafana's own types. A
// module of its own, so the exporter's go.mod does not carry the SDK.
module github.com/tencentchat-exporter/tencentchat_exporter/tools/dashboard

go 1.26.0

require github.com/grafana/grafana-foundation-sdk/go v0.0.22
