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

// Prepare's warm-up runs warmUpStep warmUpRuns times, stops as soon as a
// sign-in begins (even one that fails at once) or the caller gives up,
// and after a step that fails.
func TestWarmUpLoopStopsForASignIn(t *testing.T) {
	noNetwork := func(*http.Request) (*http.Response, error) { return nil, errors.New("no network in this test") }
	newC := func() *Client {
		c, err := NewClient(Config{MCPURL: "https://mcp.example/mcp", RedirectURI: "https://app.example/cb", Fetch: noNetwork})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	defer func(step func(*Client) error) { warmUpStep = step }(warmUpStep)
	counting := func(then func(n int) error) *int {
		calls := 0
		warmUpStep = func(*Client) error { calls++; return then(calls) }
		return &calls
	}
	check := func(what string, runs, want int, calls *int, wantCalls int) {
		t.Helper()
		if runs != want || *calls != wantCalls {
			t.Errorf("%s: %d runs and %d calls of the step, want %d and %d", what, runs, *calls, want, wantCalls)
		}
	}
	ok := func(int) error { return nil }

	calls := counting(ok)
	check("a client nobody uses", newC().warmUpLoop(context.Background()), warmUpRuns, calls, warmUpRuns)

	// A sign-in that begins during the warm-up (here from the third run,
	// and failing at once without a network) ends it.
	c := newC()
	calls = counting(func(n int) error {
		if n == 3 {
			if _, err := c.BeginAuthorization(context.Background(), AuthorizeOptions{}); err == nil {
				t.Error("BeginAuthorization without a network succeeded")
			}
		}
		return nil
	})
	check("a sign-in begun in the third run", c.warmUpLoop(context.Background()), 3, calls, 3)
	calls = counting(ok)
	check("after a sign-in began", c.warmUpLoop(context.Background()), 0, calls, 0)

	ctx, cancel := context.WithCancel(context.Background())
	calls = counting(func(n int) error {
		if n == 2 {
			cancel()
		}
		return nil
	})
	check("the caller gives up in the second run", newC().warmUpLoop(ctx), 2, calls, 2)
	calls = counting(ok)
	check("with its context ended", newC().warmUpLoop(ctx), 0, calls, 0)

	calls = counting(func(int) error { return errors.New("a step refused the made-up sign-in") })
	check("a failing step", newC().warmUpLoop(context.Background()), 0, calls, 1)
}
