package collector

import (
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
)

// Reload loads a configuration with load and applies it, recording the
// outcome in the reload metrics. On failure the running configuration
// keeps serving. A reload asked for while one runs waits for that one's
// outcome and shares it, so a storm of SIGHUPs or POSTs runs a few
// reloads, not one per request.
func (e *Exporter) Reload(load func() (*config.Config, error)) error {
	_, err, _ := e.reloads.Do("reload", func() (any, error) { return nil, e.reload(load) })
	return err
}

func (e *Exporter) reload(load func() (*config.Config, error)) error {
	cfg, err := load()
	if err == nil {
		err = e.ApplyConfig(cfg)
	}
	if err != nil {
		e.reloadOK.Store(false)
		level.Error(e.logger).Log("msg", "configuration not loaded; the previous one keeps serving", "err", err)
		return err
	}
	level.Info(e.logger).Log("msg", "configuration loaded", "apps", len(cfg.Apps))
	return nil
}

// ConfigCollector returns the collector of the reload metrics, for the
// /metrics registry.
func (e *Exporter) ConfigCollector() prometheus.Collector { return configCollector{e} }

type configCollector struct{ e *Exporter }

func (c configCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- reloadSuccessDesc
	ch <- reloadTimeDesc
}

func (c configCollector) Collect(ch chan<- prometheus.Metric) {
	ok := 0.0
	if c.e.reloadOK.Load() {
		ok = 1
	}
	ch <- prometheus.MustNewConstMetric(reloadSuccessDesc, prometheus.GaugeValue, ok)
	if t := c.e.reloadSuccess.Load(); t != 0 {
		ch <- prometheus.MustNewConstMetric(reloadTimeDesc, prometheus.GaugeValue, float64(t))
	}
}
