// Package e2e holds arena's process-level tests: the arena binary, built
// once by TestMain, run as separate OS processes on loopback (an `arena
// broker` with gateway, orchestrator, robot and materializer roles around
// it, or `arena serve --all`), driven over HTTP and WebSocket as players
// would, and killed with SIGKILL where a promise of DESIGN.md's failure
// semantics says nothing may be lost. The package has no code besides this
// file; docs/reliability.md lists which test proves which promise.
package e2e
