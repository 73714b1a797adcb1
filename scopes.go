package mcpoauth

import (
	"slices"
	"strings"
)

// maxScopes bounds the scopes one document or challenge may list. Real
// servers list tens; a list of thousands is hostile (the engine runs on the
// page's only thread) and is refused as metadata_invalid.
const maxScopes = 1000

// checkScopeCount refuses a scope list longer than maxScopes; what names
// where it came from.
func checkScopeCount(n int, what string) error {
	if n > maxScopes {
		return newError(CodeMetadataInvalid, "%s lists %d scopes; more than %d is not a usable scope list, so it is refused", what, n, maxScopes)
	}
	return nil
}

// hasScope reports whether the space-separated scope list contains s.
func hasScope(scope, s string) bool { return slices.Contains(strings.Fields(scope), s) }

// unionScopes merges space-separated scope lists, keeping first-seen order
// and dropping duplicates (no hierarchy is assumed between scopes). It is
// linear in the number of scopes.
func unionScopes(lists ...string) string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lists {
		for _, s := range strings.Fields(l) {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return strings.Join(out, " ")
}

// selectScope chooses the scope of an authorization request (MCP "Scope
// Selection Strategy"): the configured scopes, else the challenge's scope,
// else every scope the resource metadata lists, else none (the parameter is
// omitted). A step-up asks for the union of what was requested before and
// what the 403 challenge names (MCP 2026-07-28 "Step-Up Authorization
// Flow"). offline_access is added when the authorization server lists it
// and a scope is sent at all (MCP 2026-07-28 "Refresh Tokens").
func selectScope(configured []string, ch *BearerChallenge, prm *ProtectedResourceMetadata, as *AuthServerMetadata, previous string, stepUp bool) string {
	var scope string
	challenged := ""
	if ch != nil {
		challenged = ch.Scope
	}
	switch {
	case stepUp:
		scope = unionScopes(strings.Join(configured, " "), previous, challenged)
	case len(configured) > 0:
		scope = strings.Join(configured, " ")
	case challenged != "":
		scope = challenged
	case prm != nil && len(prm.ScopesSupported) > 0:
		scope = strings.Join(prm.ScopesSupported, " ")
	}
	if scope != "" && as != nil && slices.Contains(as.ScopesSupported, "offline_access") {
		scope = unionScopes(scope, "offline_access")
	}
	return scope
}

// scopeCovers reports whether granted (a registration's scope; empty: no
// limit) includes every scope of requested.
func scopeCovers(granted, requested string) bool {
	return granted == "" || unionScopes(granted, requested) == unionScopes(granted)
}
