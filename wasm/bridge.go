//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"

	"github.com/hack-pad/safejs"

	mcpoauth "github.com/mcp-oauth-wasm/mcp-oauth-wasm"
)

// The Go/JS boundary. A Go function called from JS must not block (the page
// would deadlock: "all goroutines are asleep"), so every exported function
// returns a Promise and works in a goroutine; a panic becomes a rejection,
// because a panicking wasm instance is dead for the page.

func global(name string) safejs.Value {
	v, err := safejs.Global().Get(name)
	if err != nil {
		return safejs.Undefined()
	}
	return v
}

// promise runs work in a goroutine and returns a JS Promise settled with
// its result. Errors reject with a plain object the JS facade turns into
// an McpOAuthError.
func promise(work func() (any, error)) any {
	var executor safejs.Func
	executor, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			defer executor.Release()
			result, err := guard(work)
			if err != nil {
				_, _ = reject.Invoke(errorObject(err))
				return
			}
			_, _ = resolve.Invoke(result)
		}()
		return nil
	})
	if err != nil {
		return errorObject(err)
	}
	p, err := global("Promise").New(executor.Value())
	if err != nil {
		return errorObject(err)
	}
	return p
}

// guard calls work and turns a panic into an error.
func guard(work func() (any, error)) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &mcpoauth.Error{Code: mcpoauth.CodeInvalidConfig,
				Message: fmt.Sprintf("internal error (please report): %v", r), Err: fmt.Errorf("%s", debug.Stack())}
		}
	}()
	return work()
}

// export wraps a Go function for JS: panics never escape to JS.
func export(fn func(args []safejs.Value) any) safejs.Value {
	f, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) (out any) {
		defer func() {
			if r := recover(); r != nil {
				out = promise(func() (any, error) {
					return nil, &mcpoauth.Error{Code: mcpoauth.CodeInvalidConfig, Message: fmt.Sprintf("internal error (please report): %v", r)}
				})
			}
		}()
		return fn(args)
	})
	if err != nil {
		panic(err)
	}
	return f.Value()
}

// errorObject is what a rejection carries: {code, message, oauthError,
// oauthErrorDescription, status}.
func errorObject(err error) any {
	var e *mcpoauth.Error
	if !errors.As(err, &e) {
		code := mcpoauth.CodeOf(err)
		if code == "" {
			code = mcpoauth.CodeInvalidConfig
		}
		e = &mcpoauth.Error{Code: code, Message: err.Error()}
	}
	o := map[string]any{"code": string(e.Code), "message": e.Error()}
	if e.OAuthError != "" {
		o["oauthError"] = e.OAuthError
	}
	if e.OAuthErrorDescription != "" {
		o["oauthErrorDescription"] = e.OAuthErrorDescription
	}
	if e.Status != 0 {
		o["status"] = e.Status
	}
	if e.URL != "" {
		o["url"] = e.URL
	}
	if e.Reason != "" {
		o["reason"] = e.Reason
	}
	v, verr := safejs.ValueOf(o)
	if verr != nil {
		return err.Error()
	}
	return v
}

// errorFromJS turns a JS rejection value into an engine error: an object
// with a known code keeps it (the facade rejects with {code, message} for
// popup_closed and the like); anything else gets fallback.
func errorFromJS(v safejs.Value, fallback mcpoauth.Code) error {
	msg := jsString(v, "message")
	if msg == "" {
		if s, err := v.String(); err == nil {
			msg = s
		}
	}
	code := mcpoauth.Code(jsString(v, "code"))
	if code == "" || !knownCode(code) {
		code = fallback
	}
	return &mcpoauth.Error{Code: code, Message: msg, OAuthError: jsString(v, "oauthError"), OAuthErrorDescription: jsString(v, "oauthErrorDescription")}
}

func knownCode(c mcpoauth.Code) bool {
	return slices.Contains(mcpoauth.BrowserContract().ErrorCodes, c) // the engine's one list of codes
}

// jsString reads v[name] as a string, "" when absent or not a string.
func jsString(v safejs.Value, name string) string {
	if v.Type() != safejs.TypeObject && v.Type() != safejs.TypeFunction {
		return ""
	}
	f, err := v.Get(name)
	if err != nil || f.Type() != safejs.TypeString {
		return ""
	}
	s, _ := f.String()
	return s
}

// await waits for a JS value: a thenable is awaited, anything else is
// returned as is. It must run in a goroutine, never inside a FuncOf
// callback. ctx ending stops the wait (the JS side is not cancelled).
func await(ctx context.Context, v safejs.Value, fallback mcpoauth.Code) (safejs.Value, error) {
	if v.Type() != safejs.TypeObject {
		return v, nil
	}
	then, err := v.Get("then")
	if err != nil || then.Type() != safejs.TypeFunction {
		return v, nil
	}
	type outcome struct {
		v   safejs.Value
		err error
	}
	ch := make(chan outcome, 1)
	onOK, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		ch <- outcome{v: arg(args, 0)}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	onErr, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		ch <- outcome{err: errorFromJS(arg(args, 0), fallback)}
		return nil
	})
	if err != nil {
		onOK.Release()
		return safejs.Undefined(), err
	}
	if _, err := v.Call("then", onOK.Value(), onErr.Value()); err != nil {
		onOK.Release()
		onErr.Release()
		return safejs.Undefined(), errorFromJS(safejs.Undefined(), fallback)
	}
	select {
	case o := <-ch:
		onOK.Release()
		onErr.Release()
		return o.v, o.err
	case <-ctx.Done():
		// The callbacks stay alive: the promise may still settle and call them.
		return safejs.Undefined(), ctx.Err()
	}
}

func arg(args []safejs.Value, i int) safejs.Value {
	if i < len(args) {
		return args[i]
	}
	return safejs.Undefined()
}

// argString reads args[i] as a string; anything else is an invalid_config
// error naming the parameter.
func argString(args []safejs.Value, i int, name string) (string, error) {
	v := arg(args, i)
	if v.Type() != safejs.TypeString {
		return "", &mcpoauth.Error{Code: mcpoauth.CodeInvalidConfig, Message: fmt.Sprintf("%s must be a string, not %s", name, v.Type())}
	}
	return v.String()
}

// signalContext is a context that ends when the JS AbortSignal v aborts
// (at once if it already has), so that the engine's requests and waits
// stop with it. v may be undefined: then the context only ends with stop.
func signalContext(v safejs.Value) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	if v.Type() != safejs.TypeObject {
		return ctx, func() { cancel(nil) }
	}
	aborted := errors.New("the AbortSignal was aborted")
	if a, err := v.Get("aborted"); err == nil {
		if b, err := a.Bool(); err == nil && b {
			cancel(aborted)
			return ctx, func() {}
		}
	}
	onAbort, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		cancel(aborted)
		return nil
	})
	if err != nil {
		return ctx, func() { cancel(nil) }
	}
	if _, err := v.Call("addEventListener", "abort", onAbort.Value()); err != nil {
		onAbort.Release()
		return ctx, func() { cancel(nil) }
	}
	return ctx, func() {
		_, _ = v.Call("removeEventListener", "abort", onAbort.Value())
		onAbort.Release()
		cancel(nil)
	}
}

// attemptKey carries the JS object of one authorize() call (its popup
// window and signal) from the call to openAuthorizationUrl, so that a
// sign-in uses its own window, never another call's.
type attemptKey struct{}

func withAttempt(ctx context.Context, attempt safejs.Value) context.Context {
	return context.WithValue(ctx, attemptKey{}, attempt)
}

func attemptFrom(ctx context.Context) safejs.Value {
	if v, ok := ctx.Value(attemptKey{}).(safejs.Value); ok {
		return v
	}
	return safejs.Undefined()
}
