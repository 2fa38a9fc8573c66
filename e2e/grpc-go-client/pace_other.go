//go:build !linux

package main

import (
	"runtime"
	"time"
)

// pause: elsewhere, Go's own sleep (about a millisecond at the least on some systems: the
// open loop's calls then go in bursts of that long; see tick).
func pause(d time.Duration) { time.Sleep(d) }

// paceThread keeps the calling goroutine on its own OS thread, as on Linux.
func paceThread() { runtime.LockOSThread() }
