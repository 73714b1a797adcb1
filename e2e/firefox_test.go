//go:build !js

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const firefoxPath = "/usr/bin/firefox-esr"

// TestFirefoxCoreScenarios: the core browser scenarios (popup, redirect,
// step-up, refresh after expiry, popup closed, popup blocked) against the
// demo page in Debian's Firefox ESR, driven over WebDriver BiDi by
// e2e/firefox/scenarios.mjs (puppeteer-core), which fills the forms with
// the package's own test helper.
func TestFirefoxCoreScenarios(t *testing.T) {
	if _, err := os.Stat(firefoxPath); err != nil {
		t.Fatalf("Firefox ESR is required at %s (%v): apt-get install -y firefox-esr (./build.sh test does it)", firefoxPath, err)
	}
	if _, err := os.Stat("e2e/firefox/node_modules/puppeteer-core"); err != nil {
		t.Fatalf("puppeteer-core is not installed (%v): cd e2e/firefox && npm ci (./build.sh test does it)", err)
	}
	demo := startDemoServer(t, "-access-token-ttl", "4s")
	node := "node"
	if n, err := filepath.Abs("conformance/node_modules/node/bin/node"); err == nil {
		if _, err := os.Stat(n); err == nil {
			node = n // puppeteer-core needs Node 22
		}
	}
	refreshesBefore := demo.countLog(asLog, "grant_type=refresh_token")
	cmd := exec.Command(node, "e2e/firefox/scenarios.mjs", demo.URL)
	cmd.Env = append(os.Environ(), "FIREFOX="+firefoxPath)
	out, err := cmd.Output()
	var stderr string
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = string(ee.Stderr)
	}
	ran := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r struct {
			Scenario string
			OK       bool
			Ms       int
			Error    string
		}
		if json.Unmarshal([]byte(line), &r) != nil || r.Scenario == "" {
			continue
		}
		ran[r.Scenario] = true
		t.Run(r.Scenario, func(t *testing.T) {
			if !r.OK {
				t.Fatalf("in Firefox: %s", r.Error)
			}
			t.Logf("passed in Firefox in %d ms", r.Ms)
		})
	}
	for _, s := range []string{"popup", "redirect", "stepUp", "refresh", "popupClosed", "popupBlocked"} {
		if !ran[s] {
			t.Errorf("scenario %s did not run (%v)\n%s\n%s", s, err, out, stderr)
		}
	}
	if n := demo.countLog(asLog, "grant_type=refresh_token") - refreshesBefore; n == 0 {
		t.Errorf("the refresh scenario sent no refresh request")
	}
}
