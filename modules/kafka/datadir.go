package kafka

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The embedded broker keeps its data in DATA_DIR/kafka. kfake itself does
// not guard that directory, and two brokers writing it would corrupt it, so
// every process that runs the embedded broker, or works on its files (check,
// repair), first takes DATA_DIR/kafka.lock (flock, released by the kernel
// when the process exits).

// lockFileName is the lock beside the broker's data directory.
const lockFileName = "kafka.lock"

// ErrDataDirInUse is returned when another process holds the data directory.
var ErrDataDirInUse = errors.New("data directory in use")

// DataDirLock is a held lock on a data directory.
type DataDirLock struct{ f *os.File }

// LockDataDir locks dataDir for this process's embedded broker. When another
// process holds it, the error wraps ErrDataDirInUse and names that
// process's pid.
func LockDataDir(dataDir string) (*DataDirLock, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	path := filepath.Join(dataDir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	ok, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data_dir: lock %s: %w", path, err)
	}
	if !ok {
		b, _ := os.ReadFile(path)
		f.Close()
		holder := "another process"
		if pid := strings.TrimSpace(string(b)); pid != "" {
			holder = "process " + pid
		}
		return nil, fmt.Errorf("data_dir %s: %w by %s (another arena serve --all or arena broker)", dataDir, ErrDataDirInUse, holder)
	}
	// Say who holds it, for the error message of the next one who tries.
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &DataDirLock{f}, nil
}

// Release drops the lock. The file stays; it is only ever locked, not read
// for the lock's state.
func (l *DataDirLock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = l.f.Close()
	l.f = nil
}
