package collector

import (
	"html/template"
	"io"
	"net/url"
	"time"
)

// statusTemplate is the landing page's table of apps: each app's
// identity and last fetch, then a column for each family with one
// (family.status). html/template escapes every value: an app name is user
// input.
var statusTemplate = template.Must(template.New("status").Parse(`<h2>Apps</h2>
<div class="tce-scroll"><table class="tce-status">
<tr><th>app</th><th>SDKAppID</th><th>region or endpoint</th><th>accounts</th><th>last scrape</th><th>took</th><th>tencentchat_up</th><th>calls</th><th>accounts up / down</th>{{range .Columns}}<th>{{.}}</th>{{end}}<th>error codes seen, by API</th><th></th></tr>
{{range .Rows}}<tr><td>{{.Name}}</td><td>{{.SDKAppID}}</td><td>{{.Where}}</td><td>{{.Accounts}}</td>
{{if .Last}}<td>{{.Last.At}}</td><td>{{.Last.Took}}</td><td>{{.Last.Up}}</td><td>{{.Last.Calls}}</td><td>{{.Last.AccountsUp}} / {{.Last.Down}}</td>
{{else}}<td colspan="5">not scraped yet</td>
{{end}}{{range .Cells}}<td>{{.}}</td>{{end}}<td>{{range .Codes}}{{.Code}}: {{.Count}}<br>{{else}}none{{end}}</td>
<td><a href="{{.Probe}}">probe</a> <a href="{{.Debug}}">debug</a></td></tr>
{{end}}</table></div>
<form action="probe" method="get" class="tce-probe">Probe an app: <input name="target" placeholder="name or SDKAppID" required>
<label><input type="checkbox" name="debug" value="true"> debug</label> <input type="submit" value="Probe"></form>
`))

type statusPage struct {
	Columns []string
	Rows    []statusRow
}

type statusRow struct {
	Name, SDKAppID, Where string
	Accounts              int
	Last                  *statusLast
	Cells                 []string // the families' columns
	Codes                 []statusCode
	Probe, Debug          string
}

type statusLast struct {
	At, Took         string
	Up               int
	Calls            uint64
	AccountsUp, Down int
}

type statusCode struct {
	Code  string
	Count uint64
}

// WriteStatus writes the landing page's status of every configured app:
// its settings that identify it, its most recent fetch and each family's
// column. It reads what the scrapes and jobs recorded and never calls the
// API.
func (e *Exporter) WriteStatus(w io.Writer) error {
	page := statusPage{}
	for _, f := range e.families {
		if f.status != nil {
			page.Columns = append(page.Columns, f.status.heading)
		}
	}
	for _, a := range e.state.Load().apps {
		row := statusRow{Name: a.Cfg.Name, SDKAppID: a.SDKAppID, Accounts: len(a.Cfg.Accounts),
			Probe: "probe?target=" + url.QueryEscape(a.Cfg.Name),
			Debug: "probe?target=" + url.QueryEscape(a.Cfg.Name) + "&debug=true"}
		row.Where = a.Cfg.Host()
		if a.Cfg.Endpoint == "" {
			row.Where = a.Cfg.Region + " (" + row.Where + ")"
		}
		if l := a.Last(); l != nil {
			row.Last = &statusLast{At: l.At.UTC().Format(time.RFC3339), Took: l.Took.Round(time.Millisecond).String(),
				Up: boolInt(l.Up), Calls: uint64(l.Calls), AccountsUp: l.AccountsUp, Down: l.Down}
		}
		for _, f := range e.families {
			switch {
			case f.status == nil:
			case f.on(&a.Cfg):
				row.Cells = append(row.Cells, f.status.cell(a))
			default:
				row.Cells = append(row.Cells, "off")
			}
		}
		for api, name := range a.counters.apis {
			for i, label := range codeLabels {
				if n := a.counters.api[api].codes[i].Load(); n > 0 {
					row.Codes = append(row.Codes, statusCode{name + " " + label, n})
				}
			}
		}
		page.Rows = append(page.Rows, row)
	}
	return statusTemplate.Execute(w, page)
}
