package mcpoauth

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Discovery documents: RFC 9728 Protected Resource Metadata (PRM) says
// which authorization server protects the MCP server; RFC 8414 / OpenID
// Connect Discovery metadata says that server's endpoints. Each document
// has a validator that checks what the RFCs and the MCP spec say to check,
// and the URLs to look for it at, in the spec's order.

// ProtectedResourceMetadata is the RFC 9728 §2 document.
type ProtectedResourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitempty"`
	ResourceName           string   `json:"resource_name,omitempty"`
	// DPoPSigningAlgValuesSupported says the resource accepts DPoP
	// (RFC 9728 §2).
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
}

// validate checks the document against the MCP server it was fetched for:
// "resource" must identify that server (see resourceMatches) and at least
// one authorization server must be named with an acceptable URL.
func (m *ProtectedResourceMetadata) validate(mcp *url.URL, from string) error {
	if m.Resource == "" {
		return newError(CodeMetadataInvalid, "protected resource metadata at %s has no \"resource\"", from)
	}
	if !resourceMatches(m.Resource, mcp) {
		return newError(CodeMetadataInvalid,
			"protected resource metadata at %s names resource %q, which is not the MCP server %s (nor a path prefix of it on the same origin); refusing to ask for tokens for it",
			from, m.Resource, mcp.String())
	}
	if len(m.AuthorizationServers) == 0 {
		return newError(CodeMetadataInvalid, "protected resource metadata at %s lists no authorization_servers", from)
	}
	if err := checkScopeCount(len(m.ScopesSupported), "protected resource metadata at "+from); err != nil {
		return err
	}
	if _, err := parseSecureURL("authorization server "+m.AuthorizationServers[0]+" (from "+from+")", m.AuthorizationServers[0]); err != nil {
		return err
	}
	return nil
}

// AuthServerMetadata is the RFC 8414 §2 document (OpenID Connect Discovery
// documents share these fields).
type AuthServerMetadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	RegistrationEndpoint                       string   `json:"registration_endpoint,omitempty"`
	RevocationEndpoint                         string   `json:"revocation_endpoint,omitempty"`
	ScopesSupported                            []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported                     []string `json:"response_types_supported,omitempty"`
	GrantTypesSupported                        []string `json:"grant_types_supported,omitempty"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported,omitempty"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	ClientIDMetadataDocumentSupported          bool     `json:"client_id_metadata_document_supported,omitempty"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported,omitempty"`
	DPoPSigningAlgValuesSupported              []string `json:"dpop_signing_alg_values_supported,omitempty"` // RFC 9449 §5.1
}

// validate checks a metadata document fetched for issuer: the issuer echo
// must be identical (RFC 8414 §3.3; no normalization), the endpoints an
// MCP client uses must be present and acceptable URLs, and the server must
// offer the authorization code flow.
//
// legacy relaxes the issuer rule for the 2025-03-26 fallback only: there
// the MCP server is its own authorization server and the client has no
// issuer to compare with, just the server's origin (2025-03-26 servers
// publish issuers such as https://host/oauth at https://host's well-known
// URL). A document naming an issuer on another origin is still refused.
func (m *AuthServerMetadata) validate(issuer, from string, legacy bool) error {
	if legacy && m.Issuer != issuer && sameEndpointOrigin(m.Issuer, issuer) {
		issuer = m.Issuer
	}
	if m.Issuer != issuer {
		return &Error{Code: CodeIssuerMismatch, Message: fmt.Sprintf(
			"authorization server metadata at %s says its issuer is %q, not %q; a document for another issuer is never used", from, m.Issuer, issuer)}
	}
	if m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" {
		return newError(CodeMetadataInvalid, "authorization server metadata at %s lacks authorization_endpoint or token_endpoint", from)
	}
	for _, e := range []struct{ name, url string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"registration_endpoint", m.RegistrationEndpoint},
		{"revocation_endpoint", m.RevocationEndpoint},
	} {
		if e.url == "" {
			continue
		}
		if _, err := parseSecureURL(e.name+" in metadata at "+from, e.url); err != nil {
			return err
		}
	}
	if err := checkScopeCount(len(m.ScopesSupported), "authorization server metadata at "+from); err != nil {
		return err
	}
	if len(m.ResponseTypesSupported) > 0 && !slices.Contains(m.ResponseTypesSupported, "code") {
		return newError(CodeMetadataInvalid, "authorization server %s does not support response_type=code (metadata at %s)", issuer, from)
	}
	return nil
}

// requireS256 enforces PKCE S256 (MCP authorization, "Authorization Code
// Protection"): a server that does not advertise it, or advertises nothing,
// is refused before any authorization request.
func (m *AuthServerMetadata) requireS256() error {
	if !slices.Contains(m.CodeChallengeMethodsSupported, "S256") {
		return newError(CodePKCEUnsupported,
			"authorization server %s does not advertise PKCE S256 in code_challenge_methods_supported (it lists %v); the MCP spec forbids proceeding without it",
			m.Issuer, m.CodeChallengeMethodsSupported)
	}
	return nil
}

// prmURLs lists where to look for Protected Resource Metadata: the
// challenge's resource_metadata alone when given, else the path-suffixed
// well-known URL, then the root one (RFC 9728 §3.1, MCP "Protected Resource
// Metadata Discovery Requirements"). Nothing else is requested.
func prmURLs(mcp *url.URL, fromChallenge string) []string {
	if fromChallenge != "" {
		return []string{fromChallenge}
	}
	var urls []string
	if p := strings.TrimSuffix(mcp.EscapedPath(), "/"); p != "" {
		urls = append(urls, wellKnownURL(mcp, "oauth-protected-resource", p))
	}
	return append(urls, wellKnownURL(mcp, "oauth-protected-resource", ""))
}

// authServerMetadataURLs lists, in the spec's order, where an issuer's
// metadata may be (RFC 8414 §3.1, OpenID Connect Discovery §4, MCP
// "Authorization Server Metadata Discovery").
func authServerMetadataURLs(issuer *url.URL) []string {
	p := strings.TrimSuffix(issuer.EscapedPath(), "/")
	if p == "" {
		return []string{
			wellKnownURL(issuer, "oauth-authorization-server", ""),
			wellKnownURL(issuer, "openid-configuration", ""),
		}
	}
	return []string{
		wellKnownURL(issuer, "oauth-authorization-server", p),
		wellKnownURL(issuer, "openid-configuration", p),
		origin(issuer) + p + "/.well-known/openid-configuration",
	}
}

// legacyAuthServerMetadata is what a 2025-03-26 client assumes for a server
// with no metadata at all: the MCP origin's /authorize, /token and /register,
// with PKCE S256.
func legacyAuthServerMetadata(issuer string) *AuthServerMetadata {
	return &AuthServerMetadata{
		Issuer:                        issuer,
		AuthorizationEndpoint:         issuer + "/authorize",
		TokenEndpoint:                 issuer + "/token",
		RegistrationEndpoint:          issuer + "/register",
		CodeChallengeMethodsSupported: []string{"S256"},
		ResponseTypesSupported:        []string{"code"},
	}
}
