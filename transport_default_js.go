//go:build js

package mcpoauth

import "net/http"

func defaultTransport() http.RoundTripper { return nil }
