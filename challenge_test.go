package mcpoauth_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
)

// Rule §4.1: WWW-Authenticate with several challenges, quoted and token
// values, escapes, any parameter order, several header lines.
func TestParseWWWAuthenticate(t *testing.T) {
	type ch = mcpoauth.Challenge
	for _, tc := range []struct {
		in   []string
		want []ch
		bad  bool
	}{
		{[]string{`Bearer`}, []ch{{Scheme: "bearer", Params: map[string]string{}}}, false},
		{[]string{`Bearer realm="mcp", scope="a b", resource_metadata="https://x/.well-known/oauth-protected-resource"`},
			[]ch{{Scheme: "bearer", Params: map[string]string{"realm": "mcp", "scope": "a b", "resource_metadata": "https://x/.well-known/oauth-protected-resource"}}}, false},
		{[]string{`Basic realm="x", Bearer error=insufficient_scope, scope="s1 s2"`},
			[]ch{{Scheme: "basic", Params: map[string]string{"realm": "x"}}, {Scheme: "bearer", Params: map[string]string{"error": "insufficient_scope", "scope": "s1 s2"}}}, false},
		{[]string{`Negotiate abc123==, BEARER Scope="a"`},
			[]ch{{Scheme: "negotiate", Token68: "abc123==", Params: map[string]string{}}, {Scheme: "bearer", Params: map[string]string{"scope": "a"}}}, false},
		{[]string{`Bearer error_description="say \"hi\", ok", error="x"`},
			[]ch{{Scheme: "bearer", Params: map[string]string{"error_description": `say "hi", ok`, "error": "x"}}}, false},
		{[]string{`Bearer resource_metadata=https://x/prm?a=1`},
			[]ch{{Scheme: "bearer", Params: map[string]string{"resource_metadata": "https://x/prm?a=1"}}}, false},
		{[]string{`Basic`, `Bearer scope = "a" ,, error="e"`},
			[]ch{{Scheme: "basic", Params: map[string]string{}}, {Scheme: "bearer", Params: map[string]string{"scope": "a", "error": "e"}}}, false},
		{[]string{`Bearer scope="a", scope="b"`}, []ch{{Scheme: "bearer", Params: map[string]string{"scope": "a"}}}, false},
		{[]string{`Bearer scope="unterminated`}, nil, true},
		{[]string{`=oops`}, nil, true},
		{[]string{`Bearer realm="x" junk`}, nil, true},
	} {
		got, err := mcpoauth.ParseWWWAuthenticate(tc.in)
		if tc.bad {
			if mcpoauth.CodeOf(err) != mcpoauth.CodeMetadataInvalid || !strings.Contains(err.Error(), "WWW-Authenticate") {
				t.Errorf("%q: want a metadata_invalid error naming the header, got %v", tc.in, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\n got %+v (%v)\nwant %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestBearerChallengeFrom(t *testing.T) {
	h := http.Header{}
	h.Add("WWW-Authenticate", `Basic realm="x"`)
	h.Add("WWW-Authenticate", `Bearer error="insufficient_scope", scope="mcp:admin", resource_metadata="https://m/prm", error_description="more"`)
	got, ok := mcpoauth.BearerChallengeFrom(h)
	want := mcpoauth.BearerChallenge{ResourceMetadata: "https://m/prm", Scope: "mcp:admin", Error: "insufficient_scope", ErrorDescription: "more"}
	if !ok || got != want {
		t.Fatalf("got %+v %v", got, ok)
	}
	if _, ok := mcpoauth.BearerChallengeFrom(http.Header{"Www-Authenticate": {`Basic realm="x"`}}); ok {
		t.Fatal("a Basic-only header yielded a Bearer challenge")
	}
}

// FuzzParseWWWAuthenticate: any header parses or errors, never panics, and
// parsed parameter names are lower-case tokens.
func FuzzParseWWWAuthenticate(f *testing.F) {
	for _, s := range []string{
		`Bearer realm="mcp", scope="a b"`,
		`Basic realm="x", Bearer error=insufficient_scope, scope="s1 s2"`,
		`Negotiate abc123==, Bearer`,
		`Bearer error_description="say \"hi\""`,
		`Bearer resource_metadata=https://x/prm?a=1`,
		`Bearer scope="unterminated`,
		`,,, Bearer ,,`,
		"Bearer \t scope\t=\t\"a\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := mcpoauth.ParseWWWAuthenticate([]string{s})
		if err != nil && mcpoauth.CodeOf(err) != mcpoauth.CodeMetadataInvalid {
			t.Fatalf("error without the metadata_invalid code: %v", err)
		}
		for _, c := range cs {
			if c.Scheme == "" || c.Scheme != strings.ToLower(c.Scheme) {
				t.Fatalf("bad scheme %q", c.Scheme)
			}
			for k := range c.Params {
				if k == "" || k != strings.ToLower(k) {
					t.Fatalf("bad param name %q", k)
				}
			}
		}
	})
}

func TestParseAuthorizationResponse(t *testing.T) {
	for _, tc := range []struct {
		url  string
		ok   bool
		code mcpoauth.Code
		want mcpoauth.AuthorizationResponse
	}{
		{"https://app/cb", false, "", mcpoauth.AuthorizationResponse{}},
		{"https://app/cb?code=c&state=s&iss=https%3A%2F%2Fas", true, "", mcpoauth.AuthorizationResponse{Code: "c", State: "s", Iss: "https://as", HasIss: true}},
		{"https://app/cb?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E&state=s", true, "", mcpoauth.AuthorizationResponse{State: "s", Error: "access_denied", ErrorDescription: "<b>no</b>"}},
		{"https://app/cb#code=c&state=s", true, "", mcpoauth.AuthorizationResponse{Code: "c", State: "s"}},
		{"https://app/cb?code=a&code=b&state=s", false, mcpoauth.CodeAuthorizationError, mcpoauth.AuthorizationResponse{}},
		{"https://app/cb?state=s&state=t&code=a", false, mcpoauth.CodeAuthorizationError, mcpoauth.AuthorizationResponse{}},
		{"https://app/cb?code=%zz", false, mcpoauth.CodeAuthorizationError, mcpoauth.AuthorizationResponse{}},
		{"://bad", false, mcpoauth.CodeAuthorizationError, mcpoauth.AuthorizationResponse{}},
	} {
		got, ok, err := mcpoauth.ParseAuthorizationResponse(tc.url)
		if mcpoauth.CodeOf(err) != tc.code || ok != tc.ok {
			t.Errorf("%s: ok=%v err=%v", tc.url, ok, err)
			continue
		}
		if ok && *got != tc.want {
			t.Errorf("%s: got %+v", tc.url, *got)
		}
	}
}

// FuzzParseAuthorizationResponse: any callback URL parses or errors with
// authorization_error, never panics; a parsed response echoes exactly one
// value per parameter.
func FuzzParseAuthorizationResponse(f *testing.F) {
	for _, s := range []string{
		"https://app/cb?code=c&state=s&iss=https%3A%2F%2Fas",
		"https://app/cb?error=access_denied&error_description=%3Cscript%3E",
		"https://app/cb#code=c&state=s",
		"https://app/cb?code=a&code=b",
		"javascript:alert(1)",
		"https://app/cb?state=%00%ff",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		resp, ok, err := mcpoauth.ParseAuthorizationResponse(s)
		if err != nil {
			if mcpoauth.CodeOf(err) != mcpoauth.CodeAuthorizationError {
				t.Fatalf("error without the authorization_error code: %v", err)
			}
			if ok || resp != nil {
				t.Fatal("error together with a response")
			}
			return
		}
		if ok != (resp != nil) {
			t.Fatal("ok does not match the response")
		}
	})
}
