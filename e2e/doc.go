// Package e2e runs the exporter as users do: built binaries in front of the
// simulator, scraped by a real Prometheus server with the mixin's rules, the
// README's scrape configs and the dashboard's queries.
//
// Its tests build only with the e2e tag (make test sets it), so a plain
// `go test ./...` needs nothing but Go. With the tag, a missing Prometheus
// or Alertmanager fails the suite: run `make tools`.
package e2e
