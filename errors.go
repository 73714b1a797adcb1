package mcpoauth

import (
	"context"
	"errors"
	"fmt"
)

// Code is a stable error code. The JavaScript API exposes it as
// McpOAuthError.code; the list is the contract in PRODUCT.md §2.
type Code string

const (
	CodeInvalidConfig           Code = "invalid_config"
	CodeInsecureURL             Code = "insecure_url"
	CodeNetworkError            Code = "network_error"
	CodeDiscoveryFailed         Code = "discovery_failed"
	CodeMetadataInvalid         Code = "metadata_invalid"
	CodeIssuerMismatch          Code = "issuer_mismatch"
	CodePKCEUnsupported         Code = "pkce_unsupported"
	CodeRegistrationFailed      Code = "registration_failed"
	CodeRegistrationUnsupported Code = "registration_unsupported"
	CodeClientNotFound          Code = "client_not_found"
	CodePopupBlocked            Code = "popup_blocked"
	CodePopupClosed             Code = "popup_closed"
	CodeTimeout                 Code = "timeout"
	CodeAborted                 Code = "aborted"
	CodeAccessDenied            Code = "access_denied"
	CodeAuthorizationError      Code = "authorization_error"
	CodeStateMismatch           Code = "state_mismatch"
	CodeInvalidGrant            Code = "invalid_grant"
	CodeTokenError              Code = "token_error"
	CodeInsufficientScope       Code = "insufficient_scope"
	CodeAuthRequired            Code = "auth_required"
	CodeStorageError            Code = "storage_error"
)

// allCodes lists every Code, in the order above: the list the browser
// layer and the TypeScript types are generated from (Contract).
// TestAllCodesListed keeps it equal to the constants.
var allCodes = []Code{
	CodeInvalidConfig, CodeInsecureURL, CodeNetworkError, CodeDiscoveryFailed, CodeMetadataInvalid,
	CodeIssuerMismatch, CodePKCEUnsupported, CodeRegistrationFailed, CodeRegistrationUnsupported,
	CodeClientNotFound, CodePopupBlocked, CodePopupClosed, CodeTimeout, CodeAborted, CodeAccessDenied,
	CodeAuthorizationError, CodeStateMismatch, CodeInvalidGrant, CodeTokenError, CodeInsufficientScope,
	CodeAuthRequired, CodeStorageError,
}

// Error is every error the engine returns: a stable Code, a sentence a
// person can act on, and what the server said when it said something.
type Error struct {
	Code    Code
	Message string
	// OAuthError and OAuthErrorDescription are the server's "error" and
	// "error_description" (RFC 6749 §5.2). The description is text the
	// server chose: show it as text, never as HTML.
	OAuthError            string
	OAuthErrorDescription string
	// Status is the HTTP status of the response that caused the error, if any.
	Status int
	// URL and Reason, on a network_error: the URL that got no answer the
	// page could read, and why, when the transport can tell (the browser
	// module probes): "cors" (the server answered, but not to this
	// origin) or "unreachable" (nothing answered).
	URL    string
	Reason string
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	msg := e.Message
	if e.OAuthErrorDescription != "" {
		msg += " (server said: " + e.OAuthErrorDescription + ")"
	} else if e.OAuthError != "" {
		msg += " (server said: " + e.OAuthError + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, &Error{Code: CodeTimeout}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == ""
}

func newError(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func wrapError(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of err, or "" if err is not (and does not wrap)
// an *Error. A context error maps to timeout or aborted.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	case errors.Is(err, context.Canceled):
		return CodeAborted
	}
	return ""
}

// contextError turns a finished context into the engine's timeout or
// aborted error, naming what was being waited for.
func contextError(ctx context.Context, waitingFor string) *Error {
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return wrapError(CodeTimeout, ctx.Err(), "timed out while waiting for %s", waitingFor)
	}
	return wrapError(CodeAborted, context.Cause(ctx), "cancelled while waiting for %s", waitingFor)
}
