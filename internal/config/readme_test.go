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

// TestReadmeDefaults: every setting of Settings has a row in the README's
// configuration table, and the default it states is Defaults()' value. A
// row whose default does not start with a value in backticks (region:
// "required unless `endpoint`")
// stands for the zero value.
func TestReadmeDefaults(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // key to its default cell
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)`[^|]*\\| ([^|]*)\\| ([^|]*)\\|")
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		if strings.Contains(m[2], "defaults") {
			rows[m[1]] = strings.TrimSpace(m[3])
		}
	}
	first := regexp.MustCompile("^`([^`]*)`")
	d := reflect.ValueOf(Defaults())
	for i := range d.NumField() {
		key := d.Type().Field(i).Tag.Get("yaml")
		cell, ok := rows[key]
		if !ok {
			t.Errorf("README: no row for %s with defaults in its where column", key)
			continue
		}
		v := d.Field(i)
		m := first.FindStringSubmatch(cell)
		if m == nil {
			if !v.IsZero() {
				t.Errorf("README: %s states no default (%q), the code's is %v", key, cell, v.Interface())
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
			t.Errorf("README: %s defaults to %q, the code to %v (%v)", key, stated, want, err)
		}
	}
}
