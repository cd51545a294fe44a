package collector

import (
	"strings"
	"testing"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/scrape"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/source"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// TestDebugNamesAccountsNotFetchedYet: a refresh handed over by a reload
// that added an account (source's TestHandoverMidRound) is served with
// that account down; the debug probe names it as not fetched yet, and the
// others by what they got.
func TestDebugNamesAccountsNotFetchedYet(t *testing.T) {
	a := benchApp(3)
	up := tencentchat.Result{Answered: true, Info: tencentchat.AccountInfo{ErrorCode: tencentchat.OptInt{Set: true}}}
	gone := tencentchat.Result{Answered: true, Info: tencentchat.AccountInfo{ErrorCode: tencentchat.OptInt{V: 130004, Set: true}}}
	res := &source.Result{Accounts: []tencentchat.Result{up, gone, {}}, OK: true, Added: []bool{false, false, true}}
	var b strings.Builder
	writeDebug(&b, &appCollector{a: a, res: res, origin: source.Refreshed}, &scrape.Window{}, 0, nil)
	for _, want := range []string{
		a.Cfg.Accounts[1] + ": ErrorCode 130004",
		a.Cfg.Accounts[2] + ": not fetched yet: a reload added it after this refresh",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the debug probe lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), a.Cfg.Accounts[0]+":") {
		t.Errorf("an account with values is listed:\n%s", b.String())
	}
}
