// Package dpopkey is an in-memory ECDSA P-256 key for DPoP proofs
// (mcpoauth.Config.DPoPKey) for native Go clients. The browser module
// signs with a non-extractable WebCrypto key instead, so the engine itself
// carries no ECDSA code; keep this package out of the wasm.
package dpopkey

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// Key is an ECDSA P-256 key that signs ES256 (mcpoauth.DPoPSigner). It
// lives as long as the process: tokens bound to it die with it.
type Key struct{ k *ecdsa.PrivateKey }

// New generates a key.
func New() (*Key, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &Key{k: k}, nil
}

// PublicJWK is the public key as a JWK (RFC 7518 §6.2.1).
func (k *Key) PublicJWK(context.Context) (map[string]string, error) {
	pub, err := k.k.PublicKey.Bytes() // 0x04 ‖ x ‖ y
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"kty": "EC", "crv": "P-256",
		"x": base64.RawURLEncoding.EncodeToString(pub[1:33]),
		"y": base64.RawURLEncoding.EncodeToString(pub[33:65]),
	}, nil
}

// Sign returns the ES256 signature of input: r ‖ s, 32 bytes each.
func (k *Key) Sign(_ context.Context, input []byte) ([]byte, error) {
	sum := sha256.Sum256(input)
	r, s, err := ecdsa.Sign(rand.Reader, k.k, sum[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out, nil
}
