package tencentchat

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestRateLimitAlertMatchesCodes: the mixin's TencentChatAPIRateLimited
// alert selects exactly RateLimitCodes, and each is documented (so its
// counter exists from 0).
func TestRateLimitAlertMatchesCodes(t *testing.T) {
	raw, err := os.ReadFile("../../mixin/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	var expr string
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert == "TencentChatAPIRateLimited" {
				expr = r.Expr
			}
		}
	}
	m := regexp.MustCompile(`code=~"([^"]*)"`).FindStringSubmatch(expr)
	if m == nil {
		t.Fatalf("no code=~ matcher in TencentChatAPIRateLimited's expr %q", expr)
	}
	var inAlert []int
	for _, c := range strings.Split(m[1], "|") {
		n, err := strconv.Atoi(c)
		if err != nil {
			t.Fatalf("the alert's matcher %q: %v", m[1], err)
		}
		inAlert = append(inAlert, n)
	}
	want := slices.Clone(RateLimitCodes[:])
	slices.Sort(inAlert)
	slices.Sort(want)
	if !slices.Equal(inAlert, want) {
		t.Errorf("TencentChatAPIRateLimited matches codes %v, RateLimitCodes are %v", inAlert, want)
	}
	for _, c := range RateLimitCodes {
		if !slices.Contains(DocumentedCodes[:], c) {
			t.Errorf("rate-limit code %d is not in DocumentedCodes", c)
		}
	}
}
