//go:build unix

package app

import "syscall"

// raiseFileLimit lifts the soft limit on open files to the hard one (the Go
// runtime does the same on Linux since 1.19; this also covers other unixes)
// and returns the soft limit now in force, 0 if unknown.
func raiseFileLimit() uint64 {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil {
		return 0
	}
	if l.Cur < l.Max {
		want := l
		want.Cur = l.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
			l = want
		}
	}
	return l.Cur
}
