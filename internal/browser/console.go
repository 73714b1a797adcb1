//go:build !js

package browser

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/chromedp/chromedp"
)

// Console keeps the console messages of every page it watches, each line
// tagged with the page's name and the script location, for error reports
// and for the browser tests' leak check.
type Console struct {
	// Echo, when set, also receives each line as it arrives.
	Echo func(line string)

	mu    sync.Mutex
	lines []string
}

// Watch records the console of the page ctx is attached to until ctx ends.
func (c *Console) Watch(ctx context.Context, name string) {
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			line := fmt.Sprintf("[%s] %s", name, m)
			if m.URL != "" {
				line += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
			}
			c.mu.Lock()
			c.lines = append(c.lines, line)
			c.mu.Unlock()
			if c.Echo != nil {
				c.Echo(line)
			}
		}
	}()
}

// Lines returns the lines so far.
func (c *Console) Lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

func (c *Console) String() string {
	lines := c.Lines()
	if len(lines) == 0 {
		return "(nothing)"
	}
	return strings.Join(lines, "\n")
}
