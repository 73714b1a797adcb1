package mcpoauth

import (
	"fmt"
	"net/http"
	"strings"
)

// Challenge is one challenge of a WWW-Authenticate header (RFC 9110 §11.6.1).
type Challenge struct {
	// Scheme is the auth scheme, lower-cased ("bearer", "basic", ...).
	Scheme string
	// Token68 is set for challenges of the form `Scheme token68`.
	Token68 string
	// Params holds the auth-params with lower-cased names; quoted values are
	// unquoted. When a name repeats, the first value wins.
	Params map[string]string
}

// BearerChallenge is what a Bearer challenge (RFC 6750 §3, RFC 9728 §5.1)
// tells an MCP client.
type BearerChallenge struct {
	ResourceMetadata string // RFC 9728 resource_metadata URL
	Scope            string // space-separated scopes the resource wants
	Error            string // invalid_token, insufficient_scope, ...
	ErrorDescription string
	// DPoP: the server challenged with the DPoP scheme (RFC 9449 §7.1),
	// alone or beside Bearer; without a Bearer challenge, the fields
	// above are the DPoP challenge's.
	DPoP bool
}

// ParseWWWAuthenticate parses every WWW-Authenticate field value given (a
// response may carry several header lines, each with several challenges).
// Unquoted values are accepted up to the next comma or space, because
// servers send unquoted URLs in resource_metadata. A malformed header is an
// error that names where it went wrong; the challenges parsed before that
// point are still returned.
func ParseWWWAuthenticate(values []string) ([]Challenge, error) {
	var out []Challenge
	for _, v := range values {
		p := challengeParser{s: v}
		cs, err := p.parse()
		out = append(out, cs...)
		if err != nil {
			return out, &Error{Code: CodeMetadataInvalid, Message: fmt.Sprintf("WWW-Authenticate header %q is malformed: %v", v, err)}
		}
	}
	return out, nil
}

// BearerChallengeFrom returns the first Bearer challenge in h's
// WWW-Authenticate headers (else the first DPoP one), and whether there
// was one. A malformed header yields whatever was parsed before the fault.
func BearerChallengeFrom(h http.Header) (BearerChallenge, bool) {
	cs, _ := ParseWWWAuthenticate(h.Values("Www-Authenticate"))
	var found *Challenge
	dpop := false
	for i, c := range cs {
		switch {
		case c.Scheme == "bearer" && (found == nil || found.Scheme != "bearer"):
			found = &cs[i]
		case c.Scheme == "dpop":
			dpop = true
			if found == nil {
				found = &cs[i]
			}
		}
	}
	if found == nil {
		return BearerChallenge{}, false
	}
	return BearerChallenge{
		ResourceMetadata: found.Params["resource_metadata"],
		Scope:            found.Params["scope"],
		Error:            found.Params["error"],
		ErrorDescription: found.Params["error_description"],
		DPoP:             dpop,
	}, true
}

type challengeParser struct {
	s   string
	pos int
}

func isTChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func (p *challengeParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

// skipSeparators skips white space and empty list elements (",  ,").
func (p *challengeParser) skipSeparators() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == ',') {
		p.pos++
	}
}

func (p *challengeParser) token() string {
	start := p.pos
	for p.pos < len(p.s) && isTChar(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// isParamAhead reports whether an auth-param (token BWS "=" BWS value)
// starts at the current position, rather than a new challenge's scheme or a
// token68 ("abc==", "abc=" at the end of the challenge).
func (p *challengeParser) isParamAhead() bool {
	save := p.pos
	defer func() { p.pos = save }()
	if p.token() == "" {
		return false
	}
	p.skipSpace()
	if p.pos >= len(p.s) || p.s[p.pos] != '=' {
		return false
	}
	p.pos++
	p.skipSpace()
	return p.pos < len(p.s) && p.s[p.pos] != '=' && p.s[p.pos] != ','
}

func (p *challengeParser) parse() ([]Challenge, error) {
	var out []Challenge
	for {
		p.skipSeparators()
		if p.pos >= len(p.s) {
			return out, nil
		}
		scheme := p.token()
		if scheme == "" {
			return out, fmt.Errorf("expected an auth scheme at offset %d", p.pos)
		}
		c := Challenge{Scheme: strings.ToLower(scheme), Params: map[string]string{}}
		p.skipSpace()
		switch {
		case p.pos >= len(p.s) || p.s[p.pos] == ',':
			// a scheme with no parameters
		case p.isParamAhead():
			if err := p.params(&c); err != nil {
				return append(out, c), err
			}
		default:
			t68, ok := p.token68()
			if !ok {
				return out, fmt.Errorf("unexpected %q after scheme %q at offset %d", p.s[p.pos], scheme, p.pos)
			}
			c.Token68 = t68
		}
		out = append(out, c)
	}
}

func isToken68Char(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0
}

// token68 reads `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
// when it is the whole challenge body (followed by the end or a comma).
func (p *challengeParser) token68() (string, bool) {
	i := p.pos
	for i < len(p.s) && isToken68Char(p.s[i]) {
		i++
	}
	if i == p.pos {
		return "", false
	}
	for i < len(p.s) && p.s[i] == '=' {
		i++
	}
	j := i
	for j < len(p.s) && (p.s[j] == ' ' || p.s[j] == '\t') {
		j++
	}
	if j < len(p.s) && p.s[j] != ',' {
		return "", false
	}
	t := p.s[p.pos:i]
	p.pos = j
	return t, true
}

func (p *challengeParser) params(c *Challenge) error {
	for {
		p.skipSpace()
		if p.pos >= len(p.s) {
			return nil
		}
		if !p.isParamAhead() {
			return nil // the next challenge begins here
		}
		name := strings.ToLower(p.token())
		p.skipSpace()
		p.pos++ // '='
		p.skipSpace()
		value, err := p.value()
		if err != nil {
			return fmt.Errorf("parameter %q: %v", name, err)
		}
		if _, dup := c.Params[name]; !dup {
			c.Params[name] = value
		}
		p.skipSpace()
		if p.pos >= len(p.s) {
			return nil
		}
		if p.s[p.pos] != ',' {
			return fmt.Errorf("expected a comma after parameter %q at offset %d", name, p.pos)
		}
		p.skipSeparators()
	}
}

func (p *challengeParser) value() (string, error) {
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		p.pos++
		var b strings.Builder
		for p.pos < len(p.s) {
			c := p.s[p.pos]
			switch c {
			case '\\':
				if p.pos+1 >= len(p.s) {
					return "", fmt.Errorf("unterminated quoted string")
				}
				b.WriteByte(p.s[p.pos+1])
				p.pos += 2
			case '"':
				p.pos++
				return b.String(), nil
			default:
				b.WriteByte(c)
				p.pos++
			}
		}
		return "", fmt.Errorf("unterminated quoted string")
	}
	start := p.pos
	for p.pos < len(p.s) && p.s[p.pos] != ',' && p.s[p.pos] != ' ' && p.s[p.pos] != '\t' && p.s[p.pos] != '"' {
		p.pos++
	}
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		return "", fmt.Errorf("unexpected quote at offset %d", p.pos)
	}
	return p.s[start:p.pos], nil
}
