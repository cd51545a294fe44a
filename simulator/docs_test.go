package simulator

import (
	"os"
	"regexp"
	"testing"
)

// TestFaultKindsDocumented: docs/simulator.md lists every fault kind, and
// none that does not exist, so the page cannot go stale.
func TestFaultKindsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/simulator.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		listed[m[1]] = true
	}
	for _, k := range FaultKinds {
		if !listed[string(k)] {
			t.Errorf("fault kind %q is not in docs/simulator.md", k)
		}
		delete(listed, string(k))
	}
	for k := range listed {
		t.Errorf("docs/simulator.md lists %q, which is no fault kind", k)
	}
}
