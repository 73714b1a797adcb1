//go:build !js

// Package browser holds the one set of flags with which this project's
// tests, benchmark and conformance runner start Debian's Chromium.
package browser

import "github.com/chromedp/chromedp"

// ChromiumPath is Debian's chromium package's binary.
const ChromiumPath = "/usr/bin/chromium"

// Options are chromedp's defaults (headless, ...) plus what these machines
// need: no sandbox (tests run as root), no GPU, and no background
// networking, component updates, sync or QUIC (the network is closed, and
// without these Chromium opens many refused connections). extra comes last
// and may override any of them.
func Options(extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	return append(opts, extra...)
}
