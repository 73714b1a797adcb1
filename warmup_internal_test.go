package mcpoauth

import (
	"errors"
	"net/http"
	"testing"
)

// The warm-up's made-up sign-in still goes through every step: a step
// that starts refusing it would stop warming what follows it.
func TestWarmUpRunsEveryStep(t *testing.T) {
	for _, redirect := range []string{"http://127.0.0.1:9/callback", "https://app.example/cb.html?x=1"} {
		noNetwork := func(*http.Request) (*http.Response, error) { return nil, errors.New("the warm-up sends nothing") }
		c, err := NewClient(Config{MCPURL: "https://mcp.example/mcp", RedirectURI: redirect, ClientName: "warm", Fetch: noNetwork})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.warmUp(); err != nil {
			t.Errorf("redirect %s: %v", redirect, err)
		}
	}
}
