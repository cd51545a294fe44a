// Lays the exporter's landing page out in a real, headless Chromium. A
// module of its own, so the exporter's go.mod does not carry chromedp.
module github.com/tencentchat-exporter/tencentchat_exporter/tools/landing

go 1.26.0

require github.com/chromedp/chromedp v0.23.1

require (
	github.com/chromedp/cdproto v0.160.1 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
)
