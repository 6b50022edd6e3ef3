//go:build !unix

package kafka

import "os"

// tryLock is a no-op where flock(2) is missing: the data directory is not
// guarded against a second embedded broker there.
func tryLock(*os.File) (bool, error) { return true, nil }
