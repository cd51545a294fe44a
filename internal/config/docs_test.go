package config

import (
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConfigurationDocumented: every key an app or the defaults take has
// a row in docs/configuration.md's table, and every setting's row states
// Defaults()' value as its default. A row whose default does not start
// with a value in backticks (region: "required unless `endpoint`") stands
// for the zero value. A key added without its row fails here.
func TestConfigurationDocumented(t *testing.T) {
	raw, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	rows := map[string]string{} // a setting's key to its default cell
	row := regexp.MustCompile("(?m)^\\| (`[a-z_]+`(?: / `[a-z_]+`)*) \\| ([^|]*)\\| ([^|]*)\\|")
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		for _, k := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(m[1], -1) {
			documented[k[1]] = true
			if strings.Contains(m[2], "defaults") {
				rows[k[1]] = strings.TrimSpace(m[3])
			}
		}
	}
	for _, key := range append(append([]string{}, appKeys...), "id", "max_subscribers") {
		if !documented[key] {
			t.Errorf("docs/configuration.md: no row for the key %s", key)
		}
	}
	first := regexp.MustCompile("^`([^`]*)`")
	d := reflect.ValueOf(Defaults())
	for i := range d.NumField() {
		key := d.Type().Field(i).Tag.Get("yaml")
		cell, ok := rows[key]
		if !ok {
			t.Errorf("docs/configuration.md: no row for %s with defaults in its where column", key)
			continue
		}
		v := d.Field(i)
		m := first.FindStringSubmatch(cell)
		if m == nil {
			if !v.IsZero() {
				t.Errorf("docs/configuration.md: %s states no default (%q), the code's is %v", key, cell, v.Interface())
			}
			continue
		}
		stated, want := m[1], v.Interface()
		var got any
		switch v.Interface().(type) {
		case time.Duration:
			got, err = time.ParseDuration(stated)
		case int:
			got, err = strconv.Atoi(stated)
		case int64:
			got, err = strconv.ParseInt(stated, 10, 64)
		case float64:
			got, err = strconv.ParseFloat(stated, 64)
		case bool:
			got, err = strconv.ParseBool(stated)
		default:
			got = stated
		}
		if err != nil || got != want {
			t.Errorf("docs/configuration.md: %s defaults to %q, the code to %v (%v)", key, stated, want, err)
		}
	}
}
