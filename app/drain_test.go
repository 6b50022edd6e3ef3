package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestLifecycleDrainDelay: on a signal, readiness goes false at once while
// every module keeps running for http.drain_delay, then they stop in order.
func TestLifecycleDrainDelay(t *testing.T) {
	r := newRig("broker", "server", "gateway")
	r.lc.drainDelay = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	done := r.start(ctx)
	r.waitReady(t)
	signalled := time.Now()
	cancel()
	waitFor(t, "readiness false", func() bool { return !r.ready.Load() })
	if d := time.Since(signalled); d > 500*time.Millisecond {
		t.Errorf("readiness went false %v after the signal, want at once", d)
	}
	// Well inside the delay nothing has stopped yet.
	time.Sleep(300 * time.Millisecond)
	for _, line := range r.j.all() {
		if strings.HasPrefix(line, "run-end") || strings.HasPrefix(line, "stop") {
			t.Fatalf("%q during the drain delay", line)
		}
	}
	if err := result(t, done); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(signalled); took < time.Second {
		t.Errorf("stopped %v after the signal, before the 1s drain delay", took)
	}
	if !strings.Contains(r.logs.String(), "draining") {
		t.Errorf("the drain is not logged:\n%s", r.logs.String())
	}
}

// A module failing is no reason to wait: the process stops at once.
func TestLifecycleNoDrainDelayOnFailure(t *testing.T) {
	r := newRig("server", "gateway")
	r.lc.drainDelay = 5 * time.Second
	r.fakes["gateway"].runExit = make(chan error, 1)
	done := r.start(context.Background())
	r.waitReady(t)
	start := time.Now()
	r.fakes["gateway"].runExit <- errors.New("broken")
	if err := result(t, done); err == nil {
		t.Fatal("want the module's error")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v: the drain delay was applied to a failure", took)
	}
}
