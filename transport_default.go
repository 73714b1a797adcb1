//go:build !js

package mcpoauth

import "net/http"

// defaultTransport is http.DefaultTransport natively. Under js/wasm there
// is no default (transport_default_js.go): referencing net/http's
// Transport links its whole client into the wasm, and the browser layer
// always passes its fetch-based RoundTripper.
func defaultTransport() RoundTripFunc { return http.DefaultTransport.RoundTrip }
