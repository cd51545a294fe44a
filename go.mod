module github.com/tencentchat-exporter/tencentchat_exporter

go 1.26.0

require (
	github.com/tencentyun/tls-sig-api-v2-golang v1.4.0
	golang.org/x/time v0.16.0
)

require go.yaml.in/yaml/v3 v3.0.6 // indirect
