//go:build !unix

package app

// raiseFileLimit has no file limit to raise here.
func raiseFileLimit() uint64 { return 0 }
