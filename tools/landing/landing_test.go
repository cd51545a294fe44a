// Package landing tests the exporter's landing page in a headless Chromium:
// at a desktop and a phone width, no two of its controls overlap and the
// page is no wider than the screen.
package landing

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// box is a control's place on the page, as the browser laid it out.
type box struct {
	What                     string
	Left, Top, Right, Bottom float64
	// Inside is the index of the control that holds this one (a label
	// around its checkbox), or -1.
	Inside int
}

// layoutJS lists every visible control with the box it paints: its own
// box joined with that of its contents, as a label squeezed to no width
// still paints its text over its neighbour.
const layoutJS = `(() => {
  const painted = e => {
    const r = e.getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(e);
    const c = range.getBoundingClientRect();
    if (c.width === 0 || c.height === 0) return r;
    if (r.width === 0 || r.height === 0) return c;
    return {left: Math.min(r.left, c.left), top: Math.min(r.top, c.top),
      right: Math.max(r.right, c.right), bottom: Math.max(r.bottom, c.bottom)};
  };
  const els = [...document.querySelectorAll('a, button, input, label, select, textarea')]
    .filter(e => { const r = painted(e); return r.right > r.left && r.bottom > r.top; });
  return {
    width: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
    boxes: els.map(e => {
      const r = painted(e);
      const holder = els.findIndex(o => o !== e && o.contains(e));
      const text = (e.textContent || e.value || e.name || e.getAttribute('href') || '').trim().slice(0, 40);
      return {What: e.tagName.toLowerCase() + ' "' + text + '"',
        Left: r.left + scrollX, Top: r.top + scrollY, Right: r.right + scrollX, Bottom: r.bottom + scrollY, Inside: holder};
    }),
  };
})()`

type layout struct {
	Width, Viewport float64
	Boxes           []box
}

func TestLandingPageLayout(t *testing.T) {
	browser := findBrowser(t)
	url := startDemo(t)
	for _, width := range []int{1280, 375} {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			opts := append(chromedp.DefaultExecAllocatorOptions[:],
				chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(width, 900))
			alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
			defer cancel()
			ctx, cancel := chromedp.NewContext(alloc)
			defer cancel()
			// The first call starts the browser, which lives as long as
			// that call's context; the page's steps get a bound of their own.
			if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
				t.Fatal(err)
			}
			ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := chromedp.Do(ctx,
				chromedp.EmulateViewport(int64(width), 900),
				chromedp.Navigate(url),
				chromedp.WaitVisible(chromedp.CSS(`form[action="probe"]`)),
			); err != nil {
				t.Fatal(err)
			}
			l, err := chromedp.Run(ctx, chromedp.Evaluate[layout](layoutJS))
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Boxes) < 8 {
				t.Fatalf("only %d controls laid out; the page did not render", len(l.Boxes))
			}
			if l.Width > l.Viewport {
				t.Errorf("the page is %v px wide on a %v px screen", l.Width, l.Viewport)
			}
			for i, a := range l.Boxes {
				for j, b := range l.Boxes[i+1:] {
					j += i + 1
					if a.Inside == j || b.Inside == i {
						continue // a label and the checkbox it holds
					}
					if overlap(a, b) {
						t.Errorf("%s (%.0f,%.0f-%.0f,%.0f) overlaps %s (%.0f,%.0f-%.0f,%.0f)",
							a.What, a.Left, a.Top, a.Right, a.Bottom, b.What, b.Left, b.Top, b.Right, b.Bottom)
					}
				}
			}
		})
	}
}

// overlap tells whether two boxes share more than an edge (half a pixel
// of rounding allowed).
func overlap(a, b box) bool {
	const eps = 0.5
	return a.Left < b.Right-eps && b.Left < a.Right-eps && a.Top < b.Bottom-eps && b.Top < a.Bottom-eps
}

// findBrowser is $CHROMIUM_BIN, or chromium or google-chrome on PATH. A
// missing browser fails the test: it never skips.
func findBrowser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_BIN"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: install it (apt-get install chromium) or set CHROMIUM_BIN")
	return ""
}

// startDemo builds the exporter from the repository and runs it with
// --demo on a free port, returning its landing page's URL.
func startDemo(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tencentchat_exporter")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "--demo", "--web.listen-address="+addr)
	logs, err := os.Create(filepath.Join(t.TempDir(), "exporter.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://" + addr + "/"
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url + "-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			raw, _ := os.ReadFile(logs.Name())
			t.Fatalf("the demo exporter was not ready in 30 s:\n%s", raw)
		}
	}
	// A scrape, so the status table has a row of a scraped app.
	if resp, err := http.Get(url + "metrics"); err == nil {
		resp.Body.Close()
	}
	return url
}
