// Package harness runs Parley's commands as child processes for the
// process-level tests under test/: it builds the commands once per test
// binary, picks free loopback addresses, starts and stops processes with
// their output kept for failures, waits for readiness, and speaks the
// contract's HTTP API and WebSocket protocol as a client.
//
// Only tests import it. Build and Main are called once from TestMain. A
// Proc is safe for concurrent use; a Client or a Socket belongs to the
// test goroutine that made it.
package harness
