package main

import (
	"runtime"
	"syscall"
	"time"
)

// pause sleeps d in the kernel (nanosleep) on the caller's own thread, whose timer slack
// (50 µs by default, prctl(2) PR_SET_TIMERSLACK) paceThread set to 1 ns: about 130 µs for
// 100 µs. The runtime hands the goroutine's P to the reader while the thread sleeps.
func pause(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	_ = syscall.Nanosleep(&ts, nil)
}

// paceThread keeps the calling goroutine on its own OS thread with a timer slack of 1 ns, for
// pause; the caller undoes it with runtime.UnlockOSThread. The reader needs a P of its own while
// that thread sleeps (pinned to one core, Go runs with one, and a thread in nanosleep holds it
// until sysmon takes it back, up to 10 ms later): at least two, sharing the core.
func paceThread() {
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	runtime.LockOSThread()
	const prSetTimerslack = 29 // linux/prctl.h
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, 1, 0)
}
