//go:build unix

package loadgen

import "syscall"

// raiseFileLimit lifts the soft limit on open files to the hard one: every
// simulated player holds a socket, and so does the server for each of them.
// Child processes inherit it.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
