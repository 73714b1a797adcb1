package mcpoauth

import (
	"context"
	"sync"
)

// Locker runs fn while holding the named lock. In the browser it is a Web
// Lock (navigator.locks), so two tabs never spend one rotating refresh
// token; the default is process-local.
type Locker interface {
	WithLock(ctx context.Context, name string, fn func(ctx context.Context) error) error
}

// localLocker is a process-local Locker whose waits honour ctx.
type localLocker struct {
	mu    sync.Mutex
	locks map[string]chan struct{}
}

func newLocalLocker() *localLocker { return &localLocker{locks: map[string]chan struct{}{}} }

func (l *localLocker) WithLock(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	l.mu.Lock()
	ch, ok := l.locks[name]
	if !ok {
		ch = make(chan struct{}, 1)
		l.locks[name] = ch
	}
	l.mu.Unlock()
	select {
	case ch <- struct{}{}:
	case <-ctx.Done():
		return contextError(ctx, "the lock "+name)
	}
	defer func() { <-ch }()
	return fn(ctx)
}
