//go:build !unix

package peers

import (
	"os/exec"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup kills the server: without process groups there is no gentler
// signal to send.
func signalGroup(cmd *exec.Cmd, _ bool) { _ = cmd.Process.Kill() }
