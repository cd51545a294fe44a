// Command mixin writes mixin/alerts.yml from mixin/alerts.yml.tmpl and the
// thresholds in mixin/config.yml (`make mixin`), so that tuning an alert
// is an edit of one commented file rather than of PromQL. It writes the
// same rules into the Helm chart, whose PrometheusRule serves them.
package main

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// Outputs are the files the rules are written to, relative to the
// repository's root.
var Outputs = []string{"mixin/alerts.yml", "charts/tencentchat-exporter/files/alerts.yml"}

// Config is mixin/config.yml.
type Config struct {
	SubscriberDropRatio      float64 `yaml:"subscriber_drop_ratio"`
	SubscriberDropWindow     string  `yaml:"subscriber_drop_window"`
	SubscriberDropFor        string  `yaml:"subscriber_drop_for"`
	SubscriberDropMinimum    int     `yaml:"subscriber_drop_minimum"`
	AccountUnavailableFor    string  `yaml:"account_unavailable_for"`
	APIFailingFor            string  `yaml:"api_failing_for"`
	KeepFiringFor            string  `yaml:"keep_firing_for"`
	DailyActiveUsersFloor    float64 `yaml:"daily_active_users_floor"`
	CallbackAnsweredRatio    float64 `yaml:"callback_answered_ratio"`
	StatisticsStaleIntervals int     `yaml:"statistics_stale_intervals"`
	StatisticsDayMaxDays     int     `yaml:"statistics_day_max_days"`
	RefreshStaleIntervals    int     `yaml:"refresh_stale_intervals"`
	APIBudgetShare           float64 `yaml:"api_budget_share"`
	CapacityNearRatio        float64 `yaml:"capacity_near_ratio"`
	CapacityNearFor          string  `yaml:"capacity_near_for"`
	CapacityFullFor          string  `yaml:"capacity_full_for"`
	CapacityFillWindow       string  `yaml:"capacity_fill_window"`
	CapacityFillHorizon      int     `yaml:"capacity_fill_horizon_seconds"`
	CapacityFillMinimumRatio float64 `yaml:"capacity_fill_minimum_ratio"`
	CapacityFillFor          string  `yaml:"capacity_fill_for"`
	NotPublishingSeconds     int     `yaml:"not_publishing_seconds"`
	PushDeliveryFloor        float64 `yaml:"push_delivery_floor"`
	PushDeliveryMinimumSent  int     `yaml:"push_delivery_minimum_sent"`
	PushDeliveryFor          string  `yaml:"push_delivery_for"`
	ExporterSelector         string  `yaml:"exporter_selector"`
}

func main() {
	out, err := Render("mixin/alerts.yml.tmpl", "mixin/config.yml")
	for _, file := range Outputs {
		if err == nil {
			err = os.WriteFile(file, out, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mixin:", err)
		os.Exit(1)
	}
	fmt.Println("mixin: wrote", Outputs)
}

// Render executes the template with the configuration; every key must be
// set, and none unknown.
func Render(templateFile, configFile string) ([]byte, error) {
	raw, err := os.ReadFile(configFile)
	if err != nil {
		return nil, err
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", configFile, err)
	}
	v, typ := reflect.ValueOf(cfg), reflect.TypeOf(cfg)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			return nil, fmt.Errorf("%s: %s is not set", configFile, typ.Field(i).Tag.Get("yaml"))
		}
	}
	text, err := os.ReadFile(templateFile)
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New(templateFile).Delims("<<", ">>").Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, cfg); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
