//go:build js && wasm

package mcpoauth_test

import (
	"net"
	"net/http"
)

// The engine's own tests, built for js/wasm and run inside Chromium by
// wasmbrowsertest (./build.sh test): the same tests as natively, on the Go
// runtime, clock, crypto/rand and float arithmetic a browser gives the
// engine. They are not the same: a float64 → int64 conversion out of range
// saturates in wasm where amd64 gives the minimum int64 (the expires_in
// bug of issue 10 looked different in each).
//
// The tests' servers are httptest servers on Go's in-process network
// (net under js/wasm); net/http reaches them, instead of calling the
// browser's fetch, when its Transport has a DialContext. The browser
// module's own fetch round tripper is tested in wasm/.
func init() {
	inProcess := &http.Transport{DialContext: (&net.Dialer{}).DialContext}
	testFetch = inProcess.RoundTrip
	http.DefaultTransport = inProcess // what tests that send their own requests use
}
