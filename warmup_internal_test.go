package mcpoauth

import (
	"context"
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

// Prepare's warm-up repeats the steps warmUpRuns times, and makes no run
// once a sign-in has begun (even one that failed at once), or after the
// caller gave up.
func TestWarmUpLoopStopsForASignIn(t *testing.T) {
	noNetwork := func(*http.Request) (*http.Response, error) { return nil, errors.New("no network in this test") }
	newC := func() *Client {
		c, err := NewClient(Config{MCPURL: "https://mcp.example/mcp", RedirectURI: "https://app.example/cb", Fetch: noNetwork})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if n := newC().warmUpLoop(context.Background()); n != warmUpRuns {
		t.Errorf("a client nobody uses: %d runs, want %d", n, warmUpRuns)
	}
	c := newC()
	if _, err := c.BeginAuthorization(context.Background(), AuthorizeOptions{}); err == nil {
		t.Fatal("BeginAuthorization without a network succeeded")
	}
	if n := c.warmUpLoop(context.Background()); n != 0 {
		t.Errorf("after a sign-in began: %d runs, want 0", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n := newC().warmUpLoop(ctx); n != 0 {
		t.Errorf("with its context ended: %d runs, want 0", n)
	}
}
