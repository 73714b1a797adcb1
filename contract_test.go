package mcpoauth

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"
)

// TestAllCodesListed: allCodes, the list the browser layer and the
// TypeScript types are generated from, holds every Code constant of
// errors.go, once.
func TestAllCodesListed(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var consts []Code
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "Code" {
				for _, v := range vs.Values {
					if lit, ok := v.(*ast.BasicLit); ok {
						consts = append(consts, Code(strings.Trim(lit.Value, `"`)))
					}
				}
			}
		}
		return true
	})
	if len(consts) < 20 {
		t.Fatalf("found only %d Code constants in errors.go", len(consts))
	}
	if !slices.Equal(consts, allCodes) {
		t.Errorf("allCodes = %v\nconstants = %v", allCodes, consts)
	}
}

// TestContractNamesWhatTheEngineWrites: the field names and key parts in
// the Contract are the ones the engine's records use.
func TestContractNamesWhatTheEngineWrites(t *testing.T) {
	c := BrowserContract()
	want := map[string]string{"accessToken": "access_token", "tokenType": "token_type", "refreshToken": "refresh_token",
		"expiresAt": "expires_at", "issuedAt": "issued_at", "issuer": "issuer"}
	for k, v := range want {
		if c.TokenFields[k] != v {
			t.Errorf("tokenFields.%s = %q, want %q", k, c.TokenFields[k], v)
		}
	}
	if !slices.Equal(c.ResourceIssuerPath, []string{"authorization_server", "issuer"}) {
		t.Errorf("resourceIssuerPath = %v", c.ResourceIssuerPath)
	}
	r := records{prefix: c.DefaultStorageKeyPrefix}
	if got, want := r.tokensKey("https://m/mcp"), strings.Join([]string{c.DefaultStorageKeyPrefix, c.StorageKeyVersion, c.StorageKinds["tokens"], "https://m/mcp"}, ":"); got != want {
		t.Errorf("tokens key %q, contract builds %q", got, want)
	}
	if c.Options["mcpUrl"] != "string" || c.Options["scopes"] != "string[]" || c.Options["requireIssuerParameter"] != "boolean" || c.Options["additionalClientMetadata"] != "object" {
		t.Errorf("options = %v", c.Options)
	}
}

// TestDecodeOptionsStrict: an unknown or mistyped option is invalid_config
// naming it; nothing is dropped silently.
func TestDecodeOptionsStrict(t *testing.T) {
	for raw, want := range map[string]string{
		`{"mcpUrl":"https://m/mcp","scope":["a"]}`:  `unknown option "scope"`,
		`{"mcpUrl":"https://m/mcp","scopes":"a b"}`: "option scopes must be an array of strings, not a JSON string",
		`{"mcpUrl":5}`:                     "option mcpUrl must be a string, not a JSON number",
		`{"requireIssuerParameter":"yes"}`: "option requireIssuerParameter must be a boolean, not a JSON string",
		`{"additionalClientMetadata":[1]}`: "option additionalClientMetadata must be an object, not a JSON array",
		`{"mcpUrl":"https://m/mcp"} {}`:    "trailing data",
		`[]`:                               "the options must be an object",
	} {
		_, err := DecodeOptions([]byte(raw))
		if CodeOf(err) != CodeInvalidConfig || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want invalid_config saying %q", raw, err, want)
		}
	}
	o, err := DecodeOptions([]byte(`{"mcpUrl":"https://m/mcp","redirectUri":"https://a/cb","scopes":["x"],"clientIssuer":"https://as","requireIssuerParameter":true}`))
	if err != nil || o.Config().ClientIssuer != "https://as" || !o.Config().RequireIssuerParameter || o.Config().Scopes[0] != "x" {
		t.Errorf("decoded %+v, %v", o, err)
	}
}
