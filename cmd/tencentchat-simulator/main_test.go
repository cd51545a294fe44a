package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tencentyun/tls-sig-api-v2-golang/tencentyun"
)

// TestCommand runs the simulator command as the README shows it and talks
// to it with a UserSig from Tencent's official module.
func TestCommand(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "tencentchat-simulator")
	// -race: the command is checked for data races too, and the build reuses
	// the race-compiled packages of this test instead of compiling the
	// standard library once more beside the exporter's build in TestMain of
	// the root package, which make test runs at the same time.
	if out, err := exec.Command("go", "build", "-race", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	const key = "simulator-command-test-key-77aa"
	keyFile := filepath.Join(dir, "key.txt")
	os.WriteFile(keyFile, []byte(key+"\n"), 0o600)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()

	var logs bytes.Buffer
	cmd := exec.Command(bin, "--listen-address", addr, "--sdkappid", "1400000000", "--identifier", "administrator",
		"--secret-key-file", keyFile, "--accounts", "1000", "--latency", "20ms")
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	call := func(sig string, ids ...string) map[string]any {
		t.Helper()
		items := make([]string, len(ids))
		for i, id := range ids {
			items[i] = fmt.Sprintf(`{"Official_Account":%q}`, id)
		}
		url := fmt.Sprintf("http://%s/v4/official_account_open_http_svc/get_official_account_info?sdkappid=1400000000&identifier=administrator&usersig=%s&random=1&contenttype=json", addr, sig)
		var resp *http.Response
		var err error
		for range 100 {
			if resp, err = http.Post(url, "application/json", strings.NewReader(`{"OfficialAccountIdList":[`+strings.Join(items, ",")+`]}`)); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("simulator not reachable: %v\n%s", err, logs.String())
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return out
	}

	sig, _ := tencentyun.GenUserSig(1400000000, key, "administrator", 86400)
	got := call(sig, "@TOA#_sim00000", "@TOA#_sim00999", "@TOA#_sim01000")
	list, _ := got["OfficialAccountInfoList"].([]any)
	if got["ErrorCode"] != float64(0) || len(list) != 3 {
		t.Fatalf("answer %v", got)
	}
	codes := []any{list[0].(map[string]any)["ErrorCode"], list[1].(map[string]any)["ErrorCode"], list[2].(map[string]any)["ErrorCode"]}
	if fmt.Sprint(codes) != "[0 0 130004]" {
		t.Fatalf("codes %v: the 1000 accounts are sim00000..sim00999", codes)
	}
	forged, _ := tencentyun.GenUserSig(1400000000, "not-the-key", "administrator", 86400)
	if got := call(forged, "@TOA#_sim00000"); got["ErrorCode"] != float64(70009) {
		t.Fatalf("forged UserSig: %v", got)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	out := logs.String()
	if !strings.Contains(out, addr) || !strings.Contains(out, "accounts_per_app=1000") || !strings.Contains(out, "latency=20ms") {
		t.Errorf("start-up log does not say what it simulates:\n%s", out)
	}
	if strings.Contains(out, key) || strings.Contains(out, sig) {
		t.Fatal("the key or a UserSig is in the log")
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--secret-key-file", "/nonexistent"},
		{"--secret-key-file", "/dev/null"},
		{"--fault", "bogus=1"},
	} {
		if err := run(args); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}
