//go:build linux

package peers

import "syscall"

// sysProcAttr puts the server in its own process group (so Stop can signal
// the group) and has the kernel SIGKILL it when the thread that started it
// dies, which on a crashed or killed test binary leaves no server behind.
// (Go threads only exit when a goroutine locked to one exits, which this
// package never does.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
