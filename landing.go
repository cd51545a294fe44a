package main

import (
	"io"
	"net/http"
	"strings"

	"github.com/tencentchat-exporter/tencentchat_exporter/collector"
)

// The toolkit's landing page is rendered once; each request fills in the
// apps' status where the marker stands.
const (
	statusMarker = "TCE_STATUS_TABLE"
	// exporter-toolkit's page gives every label its form's width, 0em when
	// it has no form of its own: the probe form's label then overflowed
	// onto the button beside it. The table scrolls on a narrow screen
	// rather than pushing the page wide.
	statusCSS = "div.tce-scroll{overflow-x:auto}table.tce-status{border-collapse:collapse}table.tce-status td,table.tce-status th{border:1px solid #ccc;padding:2px 6px;text-align:left}" +
		"form.tce-probe{display:flex;flex-wrap:wrap;align-items:center;gap:.5em;margin-top:1em}form.tce-probe label{width:auto}"
)

func withStatus(landing http.Handler, exporter *collector.Exporter) http.Handler {
	var page pageBuffer
	landing.ServeHTTP(&page, httptestRequest("/"))
	prefix, suffix, ok := strings.Cut(page.String(), statusMarker)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" || !ok {
			landing.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		_, _ = io.WriteString(w, prefix)
		_ = exporter.WriteStatus(w)
		_, _ = io.WriteString(w, suffix)
	})
}

// pageBuffer is an http.ResponseWriter that keeps the body.
type pageBuffer struct {
	strings.Builder
	header http.Header
}

func (p *pageBuffer) Header() http.Header {
	if p.header == nil {
		p.header = http.Header{}
	}
	return p.header
}

func (p *pageBuffer) WriteHeader(int) {}

func httptestRequest(path string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, path, nil)
	return r
}
