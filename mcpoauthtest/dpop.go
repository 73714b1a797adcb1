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

// DPoPProof is what VerifyDPoPProof read from a valid proof.
type DPoPProof struct {
	JKT   string // RFC 7638 thumbprint of its key
	JTI   string
	Nonce string
}

// VerifyDPoPProof checks a DPoP proof (RFC 9449 §4.3) for a request of
// method to htu, and for a resource request the hash of accessToken (ath):
// the ES256 signature by the key in its header, typ, htm, htu, an iat
// within a minute, a jti. Replay (the jti) and nonces are the caller's.
// peers/gomcp uses it too.
func VerifyDPoPProof(raw, method, htu, accessToken string) (*DPoPProof, error) {
	parts := strings.Split(raw, ".")
	if raw == "" {
		return nil, errors.New("no DPoP proof")
	}
	if len(parts) != 3 {
		return nil, errors.New("the DPoP proof is not a compact JWS")
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
		return nil, fmt.Errorf("the DPoP proof's header: %v", err)
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, fmt.Errorf("the DPoP proof's claims: %v", err)
	}
	if header.Typ != "dpop+jwt" || header.Alg != "ES256" || header.JWK["kty"] != "EC" || header.JWK["crv"] != "P-256" || header.JWK["d"] != "" {
		return nil, fmt.Errorf("the DPoP proof's header must be typ dpop+jwt, alg ES256, a public EC P-256 jwk (got %s %s)", header.Typ, header.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 || !verifyES256(header.JWK, []byte(parts[0]+"."+parts[1]), sig) {
		return nil, errors.New("the DPoP proof's signature does not verify")
	}
	switch {
	case claims.HTM != method:
		return nil, fmt.Errorf("htm %q is not %s", claims.HTM, method)
	case claims.HTU != htu:
		return nil, fmt.Errorf("htu %q is not %s", claims.HTU, htu)
	case claims.IAT < time.Now().Add(-time.Minute).Unix() || claims.IAT > time.Now().Add(time.Minute).Unix():
		return nil, errors.New("iat is not within a minute of now")
	case claims.JTI == "":
		return nil, errors.New("no jti")
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if claims.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return nil, errors.New("ath is not the access token's hash")
		}
	}
	return &DPoPProof{JKT: thumbprint(header.JWK), JTI: claims.JTI, Nonce: claims.Nonce}, nil
}

// checkDPoP verifies the proof in r's DPoP header for htu (and
// accessToken's hash when given), then the nonce and the jti's novelty. It
// returns a problem for the error description, and nonceNeeded when only
// the nonce was missing or stale.
func (s *Server) checkDPoP(r *http.Request, htu, accessToken string) (p *dpopProof, problem string, nonceNeeded bool) {
	proof, err := VerifyDPoPProof(r.Header.Get("DPoP"), r.Method, htu, accessToken)
	if err != nil {
		return nil, err.Error(), false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	want := s.dpopNonce
	if accessToken != "" {
		want = s.rsNonce // the MCP server keeps nonces of its own (RFC 9449 §9)
	}
	if s.Opts.DPoPNonce && (proof.Nonce == "" || proof.Nonce != want) {
		return nil, "a fresh nonce is required", true
	}
	if s.jtis == nil {
		s.jtis = map[string]bool{}
	}
	if s.jtis[proof.JTI] {
		return nil, "jti " + proof.JTI + " was used before", false
	}
	s.jtis[proof.JTI] = true
	s.DPoPProofs++
	return &dpopProof{jkt: proof.JKT}, "", false
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
