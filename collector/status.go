package collector

import (
	"fmt"
	"html/template"
	"io"
	"net/url"
	"time"
)

// statusTemplate is the landing page's table of apps. html/template
// escapes every value: an app name is user input.
var statusTemplate = template.Must(template.New("status").Parse(`<h2>Apps</h2>
<table class="tce-status">
<tr><th>app</th><th>SDKAppID</th><th>region or endpoint</th><th>accounts</th><th>last scrape</th><th>took</th><th>tencentchat_up</th><th>calls</th><th>accounts up / down</th><th>publishing activity</th><th>push statistics</th><th>error codes seen, by API</th><th></th></tr>
{{range .}}<tr><td>{{.Name}}</td><td>{{.SDKAppID}}</td><td>{{.Where}}</td><td>{{.Accounts}}</td>
{{if .Last}}<td>{{.Last.At}}</td><td>{{.Last.Took}}</td><td>{{.Last.Up}}</td><td>{{.Last.Calls}}</td><td>{{.Last.AccountsUp}} / {{.Last.Down}}</td>
{{else}}<td colspan="5">not scraped yet</td>
{{end}}<td>{{.Publishing}}</td><td>{{.Push}}</td><td>{{range .Codes}}{{.Code}}: {{.Count}}<br>{{else}}none{{end}}</td>
<td><a href="{{.Probe}}">probe</a> <a href="{{.Debug}}">debug</a></td></tr>
{{end}}</table>
<form action="probe" method="get">Probe an app: <input name="target" placeholder="name or SDKAppID" required>
<label><input type="checkbox" name="debug" value="true"> debug</label> <input type="submit" value="Probe"></form>
`))

type statusRow struct {
	Name, SDKAppID, Where string
	Accounts              int
	Last                  *statusLast
	Codes                 []statusCode
	Probe, Debug          string
	Publishing, Push      string
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
// its settings that identify it, and its most recent fetch. It reads what
// the scrapes recorded and never calls the API.
func (e *Exporter) WriteStatus(w io.Writer) error {
	var rows []statusRow
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
		row.Push = "off"
		if a.Cfg.PushStatistics {
			row.Push = pushSummary(a)
		}
		row.Publishing = "off"
		if a.Cfg.PublishingActivity {
			row.Publishing = publishingSummary(a)
		}
		for api := range apis {
			for i, label := range codeLabels {
				if n := a.counters.api[api].codes[i].Load(); n > 0 {
					row.Codes = append(row.Codes, statusCode{apis[api] + " " + label, n})
				}
			}
		}
		rows = append(rows, row)
	}
	return statusTemplate.Execute(w, rows)
}

// publishingSummary is the app's last publishing round, in a line.
func publishingSummary(a *app) string {
	last, running := a.PublishingStory()
	var s string
	switch {
	case last.At.IsZero():
		s = "no round ended yet"
	default:
		s = fmt.Sprintf("last round at %s: %d accounts in %v, %d calls, %d failed, %d gone, %d never published",
			last.At.UTC().Format(time.RFC3339), last.Accounts, last.Took.Round(time.Millisecond), last.Calls, last.Failed, last.Gone, last.NeverPublished)
	}
	if running {
		s += "; a round is under way"
	}
	return s
}

// pushSummary is the app's last push statistics call, in a line.
func pushSummary(a *app) string {
	day, last := a.PushStats()
	switch {
	case last.At.IsZero():
		return "not refreshed yet"
	case last.Err != nil && day != nil:
		return fmt.Sprintf("last call at %s failed (%v); serving the day of %s", last.At.UTC().Format(time.RFC3339), last.Err, day.Start.Format("2006-01-02"))
	case last.Err != nil:
		return fmt.Sprintf("last call at %s failed: %v; no push series", last.At.UTC().Format(time.RFC3339), last.Err)
	}
	return fmt.Sprintf("last call at %s: the day of %s (Beijing), %d platforms", last.At.UTC().Format(time.RFC3339), day.Start.Format("2006-01-02"), len(day.Platforms))
}
