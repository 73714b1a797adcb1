//go:build !js

package main

// The report: one table (and its JSON) of medians with min–max over the
// runs, for mcp-oauth-wasm and both SDKs, the ratios of ours to each, and
// the budgets.

import (
	"fmt"
	"os/exec"
	"sort"
	"strings"
)

type stat struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Values []float64 `json:"values"`
}

func newStat(v []float64) *stat {
	if len(v) == 0 {
		return nil
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	m := s[n/2]
	if n%2 == 0 {
		m = (s[n/2-1] + s[n/2]) / 2
	}
	return &stat{Median: m, Min: s[0], Max: s[n-1], Values: v}
}

type metric struct {
	Key    string   `json:"key"`
	Label  string   `json:"label"`
	Unit   string   `json:"unit"`
	Ours   *stat    `json:"ours"`
	SDK    *stat    `json:"sdk"`              // TS SDK v1
	SDK2   *stat    `json:"sdk2"`             // TS SDK v2
	Ratio  *float64 `json:"ratio,omitempty"`  // ours median / v1 median
	Ratio2 *float64 `json:"ratio2,omitempty"` // ours median / v2 median
	Budget string   `json:"budget,omitempty"`
	Met    *bool    `json:"met,omitempty"`
	Note   string   `json:"note,omitempty"`
	digits int
}

type report struct {
	Runs      int                     `json:"runs"`
	Chromium  string                  `json:"chromium"`
	Encoding  string                  `json:"encoding"`
	Sides     map[string]string       `json:"sides"`
	Engine    string                  `json:"engine"` // where ours' engine ran, and how the bench knew
	Budgets   []string                `json:"budgets"`
	Metrics   []*metric               `json:"metrics"`
	Files     map[string]fileSizes    `json:"files"`
	PerRun    map[string][]*runResult `json:"perRun"`
	DurationS float64                 `json:"durationSeconds"`
}

type fileSizes struct {
	Raw    int `json:"raw"`
	Gzip   int `json:"gzip"`
	Brotli int `json:"brotli"`
}

func collect(rs []*runResult, f func(*runResult) float64) []float64 {
	var out []float64
	for _, r := range rs {
		out = append(out, f(r))
	}
	return out
}

// budgets is what the table's header says about the budgets.
var budgets = []string{
	"rows 1, 2: ours ≤ 1.0 × both SDKs' time, with no more requests than either",
	"rows 3, 4: ours ≤ 1.0 × both SDKs' time",
	"row 5: ≤ 50 ms",
	"mcp-oauth.wasm, brotli: ≤ 1300 kB",
	"and, from before: load ≤ 0.5 × the SDKs; returning user ≤ the SDKs with no request besides the MCP endpoint's and no wasm; getAccessToken() ≤ 2 µs; client.fetch overhead ≤ 0.1 ms",
}

func buildReport(e *env, assets map[string]*asset, results map[string][]*runResult) *report {
	rep := &report{Runs: e.cfg.runs, Encoding: e.cfg.encoding, Files: map[string]fileSizes{}, PerRun: results, Sides: map[string]string{}, Budgets: budgets}
	if out, err := exec.Command(chromiumPath, "--version").Output(); err == nil {
		rep.Chromium = strings.TrimSpace(string(out))
	}
	sizes := map[string]fileSizes{}
	for _, s := range sides {
		rep.Sides[s.key] = s.name
		var t fileSizes
		for _, p := range s.authCode {
			a := assets[p]
			fs := fileSizes{len(a.raw), len(a.gz), len(a.br)}
			rep.Files[p] = fs
			t.Raw += fs.Raw
			t.Gzip += fs.Gzip
			t.Brotli += fs.Brotli
		}
		sizes[s.key] = t
	}
	rep.Engine = engineSummary(results["ours"])
	one := func(v int) *stat { return newStat([]float64{float64(v) / 1000}) }
	ours, sdk, sdk2 := results["ours"], results["sdk"], results["sdk2"]
	all := func(f func(*runResult) float64) (*stat, *stat, *stat) {
		return newStat(collect(ours, f)), newStat(collect(sdk, f)), newStat(collect(sdk2, f))
	}
	var ms []*metric
	add := func(m *metric) { ms = append(ms, m) }
	row := func(key, label, unit string, digits int, f func(*runResult) float64) *metric {
		o, s1, s2 := all(f)
		m := &metric{Key: key, Label: label, Unit: unit, Ours: o, SDK: s1, SDK2: s2, digits: digits}
		add(m)
		return m
	}
	oursOnly := func(key, label, unit string, digits int, f func(*runResult) float64) *metric {
		m := &metric{Key: key, Label: label, Unit: unit, Ours: newStat(collect(ours, f)), digits: digits}
		add(m)
		return m
	}
	// atMost: ours' median ≤ factor × each SDK's median.
	atMost := func(m *metric, factor float64, budget string) {
		m.Budget = budget
		m.Met = vsSDKs(m, factor)
	}

	// 1. First connect, click as soon as the page is ready.
	m := row("connect_now_ms", "1. first connect, click as soon as ready: click → tokens stored", "ms", 0, func(r *runResult) float64 { return r.ConnectNow.ClickToTokenMs })
	atMost(m, 1, "≤ 1.0 × SDKs")
	m.Note = "a fresh profile of its own; the driver clicks as soon as the page reports ready (ours: engine and discovery have just started in the background)"
	m = row("connect_now_requests", "   … HTTP requests, click → tokens stored (all)", "", 0, func(r *runResult) float64 { return float64(r.ConnectNowRequests) })
	atMost(m, 1, "≤ SDKs")
	m.Note = "every request the browser sent in that window (page assets, popup, CORS preflights, callback page)"
	m = row("connect_now_from_load_as_mcp", "   … to the AS and MCP server, page load → tokens stored", "", 0, func(r *runResult) float64 { return float64(r.ConnectNowFromLoadASAndMCP) })
	atMost(m, 1, "≤ SDKs")
	m.Note = "with what a client started in the background before the click"
	row("connect_now_round_trips", "   … sequential round trips, click → tokens", "", 0, func(r *runResult) float64 { return float64(r.ConnectNowRoundTrips) })
	row("connect_now_ready_to_click_ms", "   … page ready → click event (the driver's delay)", "ms", 1, func(r *runResult) float64 { return r.ConnectNow.ReadyToClickMs })
	oursOnly("connect_now_engine_ms", "   … engine load → ready", "ms", 1, func(r *runResult) float64 { return deref(r.ConnectNow.WasmStartMs) }).Note =
		"engineStats() where web/engine.js has it (worker or page), else the page's WebAssembly wrappers (fetch + compile + instantiate)"

	// 2. First connect, click after 2 s idle.
	m = row("connect_ms", fmt.Sprintf("2. first connect, click after %g s idle: click → tokens stored", idleBeforeClick.Seconds()), "ms", 0, func(r *runResult) float64 { return r.Connect.ClickToTokenMs })
	atMost(m, 1, "≤ 1.0 × SDKs")
	m.Note = "fresh profile; ours: authorize() resolved; SDKs: first MCP request → 401 → auth() → popup → auth() with the code resolved"
	m = row("connect_requests", "   … HTTP requests, click → tokens stored (all)", "", 0, func(r *runResult) float64 { return float64(r.ConnectRequests) })
	atMost(m, 1, "≤ SDKs")
	m = row("connect_from_load_as_mcp", "   … to the AS and MCP server, page load → tokens stored", "", 0, func(r *runResult) float64 { return float64(r.ConnectFromLoadASAndMCP) })
	atMost(m, 1, "≤ SDKs")
	row("connect_requests_as_mcp", "   … to the AS and MCP server, click → tokens stored", "", 0, func(r *runResult) float64 { return float64(r.ConnectOAuthMCP) })
	row("connect_round_trips", "   … sequential round trips, click → tokens", "", 0, func(r *runResult) float64 { return float64(r.ConnectRoundTrips) }).Note =
		"longest chain of requests each started after the previous one finished"
	oursOnly("connect_wasm_start_ms", "   … engine load → ready", "ms", 1, func(r *runResult) float64 { return deref(r.Connect.WasmStartMs) })

	// 3. Expired token, warm page.
	m = row("expired_warm_ms", "3. expired token, same page (warm): call → tools/list", "ms", 1, func(r *runResult) float64 { return r.ExpiredWarm.CallToToolsMs })
	atMost(m, 1, "≤ 1.0 × SDKs")
	m.Note = "in row 2's page, no reload: bench.expireToken() edits localStorage directly (outside any lock: also tokens written outside the refresh lock), then one tools/list in the open session through the client's fetch"
	row("expired_warm_requests", "   … HTTP requests", "", 0, func(r *runResult) float64 { return float64(r.ExpiredWarmRequests.All) })
	row("expired_warm_token_requests", "   … of which token requests (refresh)", "", 0, func(r *runResult) float64 { return float64(r.ExpiredWarmRequests.Tokens) })
	row("expired_warm_round_trips", "   … sequential round trips", "", 0, func(r *runResult) float64 { return float64(r.ExpiredWarmRequests.RoundTrips) })

	// 4. Expired token after a reload.
	m = row("returning_expired_ms", "4. expired token, after a reload: page load → tools/list", "ms", 1, func(r *runResult) float64 { return r.Expired.ToolsDoneMs })
	atMost(m, 1, "≤ 1.0 × SDKs")
	m.Note = "Chromium restarted on the profile, warm HTTP cache; ours refreshes before the request (stored expires_at); the SDKs send the token, get 401, auth() refreshes"
	row("returning_expired_requests", "   … HTTP requests", "", 0, func(r *runResult) float64 { return float64(r.ExpiredRequests) })
	row("returning_expired_token_requests", "   … of which token requests (refresh)", "", 0, func(r *runResult) float64 { return float64(r.ExpiredTokenReqs) })
	row("returning_expired_round_trips", "   … sequential round trips", "", 0, func(r *runResult) float64 { return float64(r.ExpiredRoundTrips) })

	// 5. Longest main-thread task.
	m = row("longest_task_ms", "5. longest main-thread task, page load → connected (row 2)", "ms", 0, func(r *runResult) float64 { return r.LongestTaskMs })
	m.Budget, m.Met = "≤ 50 ms", ptr(m.Ours.Median <= 50)
	m.Note = "PerformanceObserver longtask: the longest task of 50 ms or more (0: none) from the page's load until tools/list after the first connect; the page's own work included; a Worker's tasks are not the page's"
	row("longest_task_now_ms", "   … same, click as soon as ready (row 1)", "ms", 0, func(r *runResult) float64 { return r.LongestTaskNowMs })

	// 6. Load, returning user, hot path, sizes.
	m = row("import_to_ready_ms", "6. load: import → ready (cold cache)", "ms", 1, func(r *runResult) float64 { return r.Ready.ImportToReadyMs })
	atMost(m, 0.5, "≤ 0.5 × SDKs")
	m.Note = "ours: import('mcp-oauth.js') + load() + createClient(); SDKs: import(bundle) + provider"
	m = row("returning_valid_ms", "6. returning, valid token: page load → tools/list", "ms", 1, func(r *runResult) float64 { return r.Returning.ToolsDoneMs })
	atMost(m, 1, "≤ SDKs")
	m.Note = "from navigation start; warm HTTP cache; initialize, notifications/initialized, tools/list"
	row("returning_valid_first_mcp_ms", "   … page load → first authorized MCP response", "ms", 1, func(r *runResult) float64 { return r.Returning.FirstAuthorizedResponseMs })
	m = row("returning_valid_extra_requests", "   … requests besides the MCP endpoint and the page", "", 0, func(r *runResult) float64 { return float64(r.ReturningExtra) })
	m.Budget, m.Met = "= 0", ptr(m.Ours.Max == 0)
	m = oursOnly("returning_valid_wasm_started", "   … runs in which the engine started before tools/list", "", 0, func(r *runResult) float64 { return b2f(r.Returning.WasmStartedBeforeTools) })
	m.Budget, m.Met = "= 0", ptr(m.Ours.Max == 0)
	m = row("get_access_token_us", "6. hot: getAccessToken(), valid token", "µs/call", 2, func(r *runResult) float64 { return r.Hot.GetTokenUs })
	m.Budget, m.Met = "≤ 2 µs", ptr(m.Ours.Median <= 2)
	m.Note = fmt.Sprintf("%d awaited calls per timing, median of 5 timings after a warm-up; SDKs: await provider.tokens()", e.cfg.iterations)
	m = row("fetch_overhead_ms", "6. hot: client.fetch − plain fetch (MCP ping)", "ms", 3, func(r *runResult) float64 { return r.Hot.FetchOverheadMs })
	m.Budget, m.Met = "≤ 0.1 ms", ptr(m.Ours.Median <= 0.1)
	m.Note = fmt.Sprintf("%d pings each way per run, timed in runs of 5, median of the paired differences; SDKs: the transport's path (tokens() + Bearer + fetch)", e.cfg.pairs)
	row("plain_fetch_ms", "   … plain fetch of the same ping", "ms", 2, func(r *runResult) float64 { return r.Hot.PlainFetchMs })
	oursOnly("dpop_proof_js_ms", "6. hot: one DPoP proof, signed in JavaScript (client.fetch)", "ms", 3, func(r *runResult) float64 { return r.Hot.DPoPProofJsMs }).Note =
		"dpop.js's dpopProof with a WebCrypto P-256 key, 200 timed after 10: the proof alone"
	oursOnly("dpop_proof_engine_ms", "   … through the engine (a call into its Worker, signed by the page's key)", "ms", 3, func(r *runResult) float64 { return r.Hot.DPoPProofEngineMs })
	dpopFetch := func(f func(*dpopFetchResult) float64) func(*runResult) float64 {
		return func(r *runResult) float64 {
			if r.DPoPFetch == nil {
				return 0
			}
			return f(r.DPoPFetch)
		}
	}
	oursOnly("dpop_fetch_ms", "6. hot: client.fetch ping with DPoP (proof + the server's verification)", "ms", 2, dpopFetch(func(d *dpopFetchResult) float64 { return d.DPoPFetchMs })).Note =
		fmt.Sprintf("the same MCP server behind its DPoP front (jose verifies the proof and the token's cnf.jkt), signed in with dpop: 'require' in the warm page; %d pings each way, alternating in runs of 5", e.cfg.pairs)
	oursOnly("dpop_bearer_fetch_ms", "   … client.fetch ping with Bearer, same page", "ms", 2, dpopFetch(func(d *dpopFetchResult) float64 { return d.BearerFetchMs }))
	oursOnly("dpop_fetch_overhead_ms", "   … DPoP − Bearer (median of the paired differences)", "ms", 3, dpopFetch(func(d *dpopFetchResult) float64 { return d.DPoPOverheadMs }))

	fixed := func(key, label string, f func(fileSizes) int) *metric {
		m := &metric{Key: key, Label: label, Unit: "kB", digits: 1,
			Ours: one(f(sizes["ours"])), SDK: one(f(sizes["sdk"])), SDK2: one(f(sizes["sdk2"]))}
		add(m)
		return m
	}
	fixed("bytes_raw", "6. auth code download, raw", func(s fileSizes) int { return s.Raw }).Note =
		"ours: the ES modules of web/ + wasm_exec.js + mcp-oauth.wasm; SDKs: auth() bundle (esbuild, minified)"
	fixed("bytes_gzip", "   … gzip -9", func(s fileSizes) int { return s.Gzip })
	fixed("bytes_brotli", "   … brotli q11", func(s fileSizes) int { return s.Brotli })
	wasmBr := len(assets["/mcp-oauth.wasm"].br)
	add(&metric{Key: "wasm_brotli", Label: "   … mcp-oauth.wasm alone, brotli q11", Unit: "kB", Ours: one(wasmBr), digits: 1,
		Budget: "≤ 1300 kB", Met: ptr(float64(wasmBr) <= 1.3e6),
		Note: fmt.Sprintf("%d bytes = %.3f MiB", wasmBr, float64(wasmBr)/(1<<20))})
	oursOnly("wasm_memory_mb", "6. engine memory after connect (peak)", "MB", 1, func(r *runResult) float64 { return r.Connect.WasmMemoryBytes / 1e6 }).Note =
		"the Go instance's linear memory (engineStats().memoryBytes, or mem.buffer.byteLength); wasm memory never shrinks, so this is the peak"
	oursOnly("wasm_memory_after_hot_mb", "   … after refresh and hot path", "MB", 1, func(r *runResult) float64 { return r.WasmBytesAfterHot / 1e6 }).Note =
		"in row 4's page; 0: the engine did not start there"

	for _, m := range ms {
		m.Ratio, m.Ratio2 = ratio(m.Ours, m.SDK), ratio(m.Ours, m.SDK2)
	}
	rep.Metrics = ms
	return rep
}

// engineSummary says where ours' engine ran in the connects, and how the
// bench knew (engineStats() or the page's WebAssembly wrappers).
func engineSummary(rs []*runResult) string {
	counts := map[string]int{}
	var keys []string
	for _, r := range rs {
		for _, c := range []connectResult{r.ConnectNow, r.Connect} {
			k := "not reported"
			if c.Engine != nil {
				k = fmt.Sprintf("%s (%s)", c.Engine.Where, c.Engine.Source)
			}
			if counts[k] == 0 {
				keys = append(keys, k)
			}
			counts[k]++
		}
	}
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s in %d of %d connects", k, counts[k], 2*len(rs)))
	}
	return strings.Join(parts, "; ")
}

func ratio(o, s *stat) *float64 {
	if o == nil || s == nil || s.Median <= 1e-6 || o.Median <= 1e-6 {
		return nil
	}
	return ptr(o.Median / s.Median)
}

// vsSDKs: ours' median ≤ factor × each SDK's median.
func vsSDKs(m *metric, factor float64) *bool {
	if m.Ours == nil || (m.SDK == nil && m.SDK2 == nil) {
		return nil
	}
	ok := true
	for _, s := range []*stat{m.SDK, m.SDK2} {
		if s != nil && m.Ours.Median > factor*s.Median {
			ok = false
		}
	}
	return &ok
}

func ptr[T any](v T) *T { return &v }

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (m *metric) format(st *stat) string {
	if st == nil {
		return "—"
	}
	f := func(v float64) string {
		s := fmt.Sprintf("%.*f", m.digits, v)
		if strings.Trim(s, "-0.") == "" {
			s = strings.TrimPrefix(s, "-") // no "-0.000"
		}
		return s
	}
	if st.Min == st.Max {
		return f(st.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", f(st.Median), f(st.Min), f(st.Max))
}

func (rep *report) table() string {
	header := []string{"metric", rep.Sides["ours"], rep.Sides["sdk"], rep.Sides["sdk2"], "ours/v1", "ours/v2", "budget", "met?"}
	rows := [][]string{header}
	ratioText := func(r *float64) string {
		if r == nil {
			return "—"
		}
		return fmt.Sprintf("%.2f", *r)
	}
	for _, m := range rep.Metrics {
		label := m.Label
		if m.Unit != "" {
			label += " (" + m.Unit + ")"
		}
		met := ""
		if m.Met != nil {
			met = "no"
			if *m.Met {
				met = "yes"
			}
		}
		budget := m.Budget
		if budget == "" {
			budget = "—"
		}
		rows = append(rows, []string{label, m.format(m.Ours), m.format(m.SDK), m.format(m.SDK2), ratioText(m.Ratio), ratioText(m.Ratio2), budget, met})
	}
	width := make([]int, len(header))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	b.WriteString("Budgets (\"SDKs\": each of v1 and v2, on the medians): " + strings.Join(budgets, "; ") + ".\n\n")
	line := func(r []string) {
		b.WriteString("|")
		for i, c := range r {
			b.WriteString(" " + c + strings.Repeat(" ", width[i]-len([]rune(c))) + " |")
		}
		b.WriteString("\n")
	}
	line(rows[0])
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, r := range rows[1:] {
		line(r)
	}
	fmt.Fprintf(&b, "\n%d runs per side, median (min–max); each run in two fresh Chromium profiles (%s), static files served %s-encoded; ours/v1, ours/v2 = mcp-oauth-wasm's median / the SDK's.\n",
		rep.Runs, rep.Chromium, rep.Encoding)
	fmt.Fprintf(&b, "Ours' engine ran: %s.\n", rep.Engine)
	return b.String()
}
