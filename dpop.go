package mcpoauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sync"
)

// DPoP (RFC 9449): sender-constrained tokens. A DPoP-bound access or
// refresh token is worthless without a proof signed by the client's key,
// so a token copied out of storage cannot be used elsewhere. The engine
// builds the proofs; the key stays behind DPoPSigner (the browser's is a
// non-extractable WebCrypto key; natively, dpopkey.New), so the engine
// carries no ECDSA code of its own.

// DPoPSigner signs DPoP proofs with an ECDSA P-256 key (JWS alg ES256).
type DPoPSigner interface {
	// PublicJWK is the public key as a JWK: {"kty":"EC","crv":"P-256","x":…,"y":…}.
	PublicJWK(ctx context.Context) (map[string]string, error)
	// Sign returns the ES256 signature of signingInput: r‖s, 64 bytes
	// (RFC 7518 §3.4), as WebCrypto produces it.
	Sign(ctx context.Context, signingInput []byte) ([]byte, error)
}

// DPoPKeyRotator is a DPoPSigner that can replace its key: each sign-in
// that binds tokens starts with a new key, so a key lives exactly as long
// as the tokens bound to it (the browser's does this; a native in-memory
// key lives as long as its process).
type DPoPKeyRotator interface {
	NewKey(ctx context.Context) error
}

// The DPoP modes (Config.DPoP).
const (
	DPoPAuto    = "auto"    // when both servers support it (default)
	DPoPRequire = "require" // refuse to sign in without it
	DPoPOff     = "off"
)

// dpopAlg is the one algorithm the engine signs with.
const dpopAlg = "ES256"

// dpopTokenType is the token_type of a DPoP-bound access token.
const dpopTokenType = "DPoP"

// useDPoP decides, before a sign-in, whether its tokens are bound: the
// authorization server must list ES256 in
// dpop_signing_alg_values_supported and the MCP server must signal that it
// accepts DPoP (its PRM lists dpop_signing_alg_values_supported, or it
// challenged with the DPoP scheme). "require" turns a no into an error
// that names the side that lacks it.
func (c *Client) useDPoP(info *serverInfo, challengedWithDPoP bool) (bool, error) {
	mode := c.cfg.DPoP
	if mode == DPoPOff || (mode != DPoPRequire && c.cfg.DPoPKey == nil) {
		return false, nil
	}
	var missing string
	switch {
	case c.cfg.DPoPKey == nil:
		missing = "this client has no DPoP key (Config.DPoPKey)"
	case !slices.Contains(info.AuthServer.DPoPSigningAlgValuesSupported, dpopAlg):
		missing = "authorization server " + info.AuthServer.Issuer + " does not list ES256 in dpop_signing_alg_values_supported"
	case !challengedWithDPoP && (info.PRM == nil || len(info.PRM.DPoPSigningAlgValuesSupported) == 0):
		missing = "MCP server " + c.mcpKey + " does not signal DPoP (no dpop_signing_alg_values_supported in its metadata, no DPoP challenge)"
	}
	if missing == "" {
		return true, nil
	}
	if mode == DPoPRequire {
		return false, newError(CodeInvalidConfig, "dpop is 'require', but %s", missing)
	}
	return false, nil
}

// dpopNonces keeps the last DPoP-Nonce each origin sent (RFC 9449 §8, §9).
type dpopNonces struct {
	mu sync.Mutex
	m  map[string]string
}

func (n *dpopNonces) get(u *url.URL) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m[origin(u)]
}

// keep records the DPoP-Nonce of a response from u, if it has one.
func (n *dpopNonces) keep(u *url.URL, h http.Header) bool {
	v := h.Get("DPoP-Nonce")
	if v == "" {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m == nil {
		n.m = map[string]string{}
	}
	n.m[origin(u)] = v
	return true
}

// dpopProof builds a DPoP proof (RFC 9449 §4.2) for a request: htm, htu
// without query and fragment, iat, a fresh jti, the origin's nonce, and
// for a resource request the access token's hash (ath).
func (c *Client) dpopProof(ctx context.Context, method string, u *url.URL, accessToken string) (string, error) {
	key := c.cfg.DPoPKey
	if key == nil {
		return "", newError(CodeInvalidConfig, "a DPoP proof is needed, but this client has no DPoP key")
	}
	htu := *u
	htu.RawQuery, htu.Fragment, htu.RawFragment = "", "", ""
	jwk, err := key.PublicJWK(ctx)
	if err != nil {
		return "", wrapError(CodeStorageError, err, "reading the DPoP key failed: %v", err)
	}
	header := map[string]any{"typ": "dpop+jwt", "alg": dpopAlg, "jwk": jwk}
	claims := map[string]any{"jti": randomToken(), "htm": method, "htu": htu.String(), "iat": c.now().Unix()}
	if n := c.nonces.get(u); n != "" {
		claims["nonce"] = n
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cl, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(cl)
	sig, err := key.Sign(ctx, []byte(input))
	if err != nil {
		return "", wrapError(CodeInvalidConfig, err, "signing a DPoP proof failed: %v", err)
	}
	if len(sig) != 64 {
		return "", newError(CodeInvalidConfig, "the DPoP key returned a %d-byte signature; ES256 needs r‖s, 64 bytes", len(sig))
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// isNonceError reports an answer that asks for a (new) DPoP nonce: the
// authorization server's 400 use_dpop_nonce (RFC 9449 §8), or a resource
// server's 401 with a DPoP challenge error="use_dpop_nonce" (§9).
func isNonceError(status int, h http.Header, body []byte) bool {
	switch status {
	case http.StatusBadRequest:
		var e oauthErrorBody
		_ = json.Unmarshal(body, &e)
		return e.Error == "use_dpop_nonce"
	case http.StatusUnauthorized:
		cs, _ := ParseWWWAuthenticate(h.Values("Www-Authenticate"))
		for _, c := range cs {
			if c.Scheme == "dpop" && c.Params["error"] == "use_dpop_nonce" {
				return true
			}
		}
	}
	return false
}

// DPoPHeaders are the headers of a resource request with a DPoP-bound
// access token: Authorization: DPoP <token>, and the proof.
func (c *Client) DPoPHeaders(ctx context.Context, method, rawURL, accessToken string) (http.Header, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, wrapError(CodeInvalidConfig, err, "%q is not a URL: %v", rawURL, err)
	}
	proof, err := c.dpopProof(ctx, method, u, accessToken)
	if err != nil {
		return nil, err
	}
	return http.Header{"Authorization": {dpopTokenType + " " + accessToken}, "Dpop": {proof}}, nil
}
