package mcpoauth

import "testing"

// The warm-up's made-up sign-in still goes through every step: a step
// that starts refusing it would stop warming what follows it.
func TestWarmUpRunsEveryStep(t *testing.T) {
	for _, redirect := range []string{"http://127.0.0.1:9/callback", "https://app.example/cb.html?x=1"} {
		c, err := NewClient(Config{MCPURL: "https://mcp.example/mcp", RedirectURI: redirect, ClientName: "warm"})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.warmUp(); err != nil {
			t.Errorf("redirect %s: %v", redirect, err)
		}
	}
}
