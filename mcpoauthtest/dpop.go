package mcpoauthtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// DPoP (RFC 9449) as a strict server checks it: the proof's signature
// (ES256, the key in its header), typ, htm, htu, iat, a jti never seen
// before, the nonce when one is required, and ath on resource requests.
// Tokens issued to a proof are bound to its key's thumbprint (jkt): a bound
// token is refused as Bearer, and with a proof by another key.

// dpopProof is a verified proof.
type dpopProof struct {
	jkt string // RFC 7638 thumbprint of its key
}

// checkDPoP verifies the proof in r's DPoP header for method and htu
// (and accessToken's hash when given). It returns a problem for the error
// description, and nonceNeeded when only the nonce was missing or stale.
func (s *Server) checkDPoP(r *http.Request, htu, accessToken string) (p *dpopProof, problem string, nonceNeeded bool) {
	raw := r.Header.Get("DPoP")
	if raw == "" {
		return nil, "no DPoP proof", false
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, "the DPoP proof is not a compact JWS", false
	}
	var header struct {
		Typ string            `json:"typ"`
		Alg string            `json:"alg"`
		JWK map[string]string `json:"jwk"`
	}
	var claims struct {
		JTI   string `json:"jti"`
		HTM   string `json:"htm"`
		HTU   string `json:"htu"`
		IAT   int64  `json:"iat"`
		Nonce string `json:"nonce"`
		ATH   string `json:"ath"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return nil, "the DPoP proof's header: " + err.Error(), false
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, "the DPoP proof's claims: " + err.Error(), false
	}
	if header.Typ != "dpop+jwt" || header.Alg != "ES256" || header.JWK["kty"] != "EC" || header.JWK["crv"] != "P-256" || header.JWK["d"] != "" {
		return nil, fmt.Sprintf("the DPoP proof's header must be typ dpop+jwt, alg ES256, a public EC P-256 jwk (got %s %s)", header.Typ, header.Alg), false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 || !verifyES256(header.JWK, []byte(parts[0]+"."+parts[1]), sig) {
		return nil, "the DPoP proof's signature does not verify", false
	}
	switch {
	case claims.HTM != r.Method:
		return nil, fmt.Sprintf("htm %q is not %s", claims.HTM, r.Method), false
	case claims.HTU != htu:
		return nil, fmt.Sprintf("htu %q is not %s", claims.HTU, htu), false
	case claims.IAT < time.Now().Add(-time.Minute).Unix() || claims.IAT > time.Now().Add(time.Minute).Unix():
		return nil, "iat is not within a minute of now", false
	case claims.JTI == "":
		return nil, "no jti", false
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if claims.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return nil, "ath is not the access token's hash", false
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	want := s.dpopNonce
	if accessToken != "" {
		want = s.rsNonce // the MCP server keeps nonces of its own (RFC 9449 §9)
	}
	if s.Opts.DPoPNonce && (claims.Nonce == "" || claims.Nonce != want) {
		return nil, "a fresh nonce is required", true
	}
	if s.jtis == nil {
		s.jtis = map[string]bool{}
	}
	if s.jtis[claims.JTI] {
		return nil, "jti " + claims.JTI + " was used before", false
	}
	s.jtis[claims.JTI] = true
	s.DPoPProofs++
	return &dpopProof{jkt: thumbprint(header.JWK)}, "", false
}

// newNonce starts a new DPoP nonce (the MCP endpoint's when resource) and
// sends it in w's DPoP-Nonce header.
func (s *Server) newNonce(w http.ResponseWriter, resource bool) {
	s.mu.Lock()
	n := s.next("nonce")
	if resource {
		s.rsNonce = n
		s.NonceChallenges++
	} else {
		s.dpopNonce = n
	}
	s.mu.Unlock()
	w.Header().Set("DPoP-Nonce", n)
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func verifyES256(jwk map[string]string, input, sig []byte) bool {
	x, err1 := base64.RawURLEncoding.DecodeString(jwk["x"])
	y, err2 := base64.RawURLEncoding.DecodeString(jwk["y"])
	if err := errors.Join(err1, err2); err != nil || len(x) != 32 || len(y) != 32 {
		return false
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
	sum := sha256.Sum256(input)
	return ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of an EC public key.
func thumbprint(jwk map[string]string) string {
	canon := fmt.Sprintf(`{"crv":%q,"kty":%q,"x":%q,"y":%q}`, jwk["crv"], jwk["kty"], jwk["x"], jwk["y"])
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
