// Command mixin writes the files of the monitoring mixin from
// mixin/mixin.libsonnet and the thresholds in mixin/config.yml (`make
// mixin`): the alerts in English and Chinese, the recording rules, the
// dashboard, and the Helm chart's copies its PrometheusRule serves.
package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/tencentchat-exporter/tencentchat_exporter/mixin"
)

func main() {
	files, err := mixin.Files()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mixin:", err)
		os.Exit(1)
	}
	var names []string
	for name, b := range files {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "mixin:", err)
			os.Exit(1)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Println("mixin: wrote", names)
}
