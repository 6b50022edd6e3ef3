//go:build !unix

package loadgen

func raiseFileLimit() {}
