// The open-loop load with -raw: unary gRPC calls written as pre-encoded HTTP/2 frames on one
// plain-text connection (prior knowledge), the way h2load drives a server, instead of through
// grpc-go's client. At tens of thousands of calls a second grpc-go's own per-call work (a
// goroutine, a context, its transport's streams) is the latency on one core; here a call costs the
// client a HEADERS and a DATA frame written in a batch and three frames read, so the latency
// measured is the server's. Requests are sent on schedule (every tick, the calls due by then, in
// one write); each call's latency runs from that write to its trailers. The connection obeys the
// server's SETTINGS (concurrent streams, flow-control window) and answers its PINGs; a call the
// server refuses (a grpc-status other than 0, RST_STREAM, GOAWAY) is an error.
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawConn is one HTTP/2 connection and the state its reader and writer share.
type rawConn struct {
	fr *http2.Framer
	bw *bufio.Writer

	mu         sync.Mutex // writes, and everything below
	cond       *sync.Cond
	window     int64 // the connection's send window
	maxStreams int   // the server's SETTINGS_MAX_CONCURRENT_STREAMS
	inFlight   int
	sentAt     map[uint32]time.Time
	lat        []time.Duration
	// Calls sent before `from` are the warm-up: answered, not counted (warm counts them).
	from     time.Time
	warm     int64
	errCount int64
	firstErr string
	closed   error

	// What a request is: its header blocks and bodies (cycled), the next stream id and body.
	first, rest []byte
	bodies      [][]byte
	id          uint32
	sent        int
	// Closed loop: keep `concurrency` calls in flight until `end` (zero: open loop).
	concurrency int
	end         time.Time
	br          *bufio.Reader
}

func dialRaw(target string) (net.Conn, error) {
	if path, ok := strings.CutPrefix(target, "unix:"); ok {
		return net.Dial("unix", path)
	}
	return net.Dial("tcp", target)
}

// headerBlocks encodes the request's header block as a gRPC client does, with HPACK's dynamic
// table: the first block adds every field to the table, and every later one is the same few bytes
// of indexes into it (the decoder's table is the same after each block, so they stay valid).
func headerBlocks(method string) (first, rest []byte) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	fields := []hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":path", Value: method},
		{Name: ":authority", Value: "localhost"},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
		{Name: "user-agent", Value: "grpc-go-client-raw"},
	}
	encode := func() []byte {
		buf.Reset()
		for _, f := range fields {
			_ = enc.WriteField(f)
		}
		return append([]byte(nil), buf.Bytes()...)
	}
	return encode(), encode()
}

// grpcMessage is a request in gRPC's length-prefixed framing, uncompressed.
func grpcMessage(msg []byte) []byte {
	out := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(out[1:5], uint32(len(msg)))
	copy(out[5:], msg)
	return out
}

// canSend: a stream and the next body's window are free (the caller holds mu).
func (c *rawConn) canSend() bool {
	return c.closed == nil && c.inFlight < c.maxStreams && c.window >= int64(len(c.bodies[c.sent%len(c.bodies)]))
}

// send writes the next call's HEADERS and DATA into the buffer (the caller holds mu and flushes).
func (c *rawConn) send(now time.Time) {
	body := c.bodies[c.sent%len(c.bodies)]
	block := c.rest
	if c.id == 1 {
		block = c.first
	}
	_ = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: c.id, BlockFragment: block, EndHeaders: true})
	_ = c.fr.WriteData(c.id, true, body)
	c.window -= int64(len(body))
	c.sentAt[c.id] = now
	c.inFlight++
	c.id += 2
	c.sent++
}

// refill, in a closed loop, sends calls until `concurrency` are in flight again.
func (c *rawConn) refill(now time.Time) {
	if c.concurrency == 0 || !now.Before(c.end) {
		return
	}
	for c.inFlight < c.concurrency && c.canSend() {
		c.send(now)
	}
}

func (c *rawConn) fail(err error) {
	c.mu.Lock()
	if c.closed == nil {
		c.closed = err
	}
	c.cond.Broadcast()
	c.mu.Unlock()
}

func (c *rawConn) callError(id uint32, msg string) {
	if c.sentAt[id].Before(c.from) {
		c.warm++
	} else {
		c.errCount++
		if c.firstErr == "" {
			c.firstErr = msg
		}
	}
	c.finish(id)
}

func (c *rawConn) finish(id uint32) {
	delete(c.sentAt, id)
	c.inFlight--
	c.cond.Broadcast()
}

// readLoop reads the server's frames until the connection ends.
func (c *rawConn) readLoop() {
	var unacked int64
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.fail(fmt.Errorf("reading: %w", err))
			return
		}
		now := time.Now()
		c.mu.Lock()
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if v, ok := f.Value(http2.SettingMaxConcurrentStreams); ok {
					c.maxStreams = int(v)
				}
				_ = c.fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				_ = c.fr.WritePing(true, f.Data)
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				c.window += int64(f.Increment)
			}
		case *http2.DataFrame:
			unacked += int64(f.Length)
			if unacked >= 1<<20 {
				_ = c.fr.WriteWindowUpdate(0, uint32(unacked))
				unacked = 0
			}
		case *http2.MetaHeadersFrame:
			if t0, ok := c.sentAt[f.StreamID]; ok && f.StreamEnded() {
				if code := f.PseudoValue("status"); code != "" && code != "200" {
					c.callError(f.StreamID, "HTTP status "+code)
				} else if st := headerValue(f, "grpc-status"); st != "0" {
					c.callError(f.StreamID, fmt.Sprintf("grpc-status %s: %s", st, headerValue(f, "grpc-message")))
				} else {
					if t0.Before(c.from) {
						c.warm++
					} else {
						c.lat = append(c.lat, now.Sub(t0))
					}
					c.finish(f.StreamID)
				}
			}
		case *http2.RSTStreamFrame:
			if _, ok := c.sentAt[f.StreamID]; ok {
				c.callError(f.StreamID, "RST_STREAM "+f.ErrCode.String())
			}
		case *http2.GoAwayFrame:
			c.mu.Unlock()
			c.fail(fmt.Errorf("GOAWAY %s %q", f.ErrCode, f.DebugData()))
			return
		}
		c.refill(now)
		if c.br.Buffered() == 0 {
			_ = c.bw.Flush() // all that was read is answered: one write for the lot
		}
		c.mu.Unlock()
	}
}

func headerValue(f *http2.MetaHeadersFrame, name string) string {
	for _, h := range f.RegularFields() {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

// rawLoad sends rate calls a second for d (open loop), or with rate 0 keeps concurrency calls in
// flight for d (closed loop); then it waits up to timeout for the last answers. The first `warmup`
// of it runs the same way on the same connection and is not counted: a server's first moments on
// a new connection (its JIT meeting new objects) are not its steady state, and a sidecar's Envoy
// keeps one connection for hours.
func rawLoad(target, method string, reqs [][]byte, rate float64, concurrency int, d, warmup, timeout time.Duration) (loadResult, error) {
	nc, err := dialRaw(target)
	if err != nil {
		return loadResult{}, err
	}
	defer nc.Close()
	c := &rawConn{bw: bufio.NewWriterSize(nc, 64<<10), br: bufio.NewReaderSize(nc, 64<<10), window: 65535, maxStreams: 1 << 30, sentAt: map[uint32]time.Time{}, id: 1}
	c.cond = sync.NewCond(&c.mu)
	c.fr = http2.NewFramer(c.bw, c.br)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.first, c.rest = headerBlocks(method)
	for _, r := range reqs {
		c.bodies = append(c.bodies, grpcMessage(r))
	}
	if _, err := c.bw.WriteString(http2.ClientPreface); err != nil {
		return loadResult{}, err
	}
	_ = c.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 24})
	_ = c.fr.WriteWindowUpdate(0, 1<<30)
	if err := c.bw.Flush(); err != nil {
		return loadResult{}, err
	}
	if rate > 0 {
		// Room for every latency up front: growing the slice mid-run (by a quarter, past a few
		// thousand) copies it and starts a collection in this process, which shows as a pause
		// in the server's latencies at the same points of every run.
		c.lat = make([]time.Duration, 0, int(rate*d.Seconds()*1.1)+1024)
		// No collection while the calls go unless the heap nears 1 GiB (each call leaves about
		// 650 B of decoded frames: ~160 MB for 5 s at 50,000 a second). A collection here takes
		// 2-6 ms of this core every quarter of a second at that rate, and the answers it delays
		// would count as the server's latency.
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 30))
	}
	start := time.Now()
	c.from = start.Add(warmup)
	c.mu.Lock()
	if rate <= 0 {
		c.concurrency, c.end = concurrency, start.Add(warmup+d)
		c.refill(start)
		_ = c.bw.Flush()
	}
	go c.readLoop()
	if rate > 0 {
		c.openLoop(start, rate, warmup+d)
	} else {
		for c.closed == nil && time.Now().Before(c.end) {
			c.mu.Unlock()
			time.Sleep(time.Until(c.end))
			c.mu.Lock()
		}
	}
	sendEnd := time.Now()
	deadline := time.AfterFunc(timeout, func() { c.fail(errors.New("no answer within the timeout")) })
	for c.closed == nil && c.inFlight > 0 {
		c.cond.Wait()
	}
	deadline.Stop()
	lat := c.lat
	unanswered := int64(len(c.sentAt))
	errCount, firstErr, closed, warm := c.errCount+unanswered, c.firstErr, c.closed, c.warm
	c.mu.Unlock()
	if firstErr == "" && unanswered > 0 && closed != nil {
		firstErr = fmt.Sprintf("%d calls unanswered: %v", unanswered, closed)
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	return loadResult{
		Calls:       int64(len(lat)) + errCount,
		WarmupCalls: warm,
		PerSecond:   float64(len(lat)) / sendEnd.Sub(c.from).Seconds(),
		P50:         percentile(lat, 0.5),
		P99:         percentile(lat, 0.99),
		Errors:      errCount,
		FirstError:  firstErr,
	}, nil
}

// openLoop sends the calls due every tick, in one write, for d (called and returning with mu held).
// A call that must wait for a stream or window is sent late; its latency starts when it is sent.
func (c *rawConn) openLoop(start time.Time, rate float64, d time.Duration) {
	paceThread()
	defer runtime.UnlockOSThread()
	interval := time.Duration(float64(time.Second) / rate)
	for c.closed == nil {
		now := time.Now()
		if now.Sub(start) >= d {
			return
		}
		for due := int(now.Sub(start) / interval); c.sent < due && c.closed == nil; {
			for c.closed == nil && !c.canSend() {
				_ = c.bw.Flush()
				c.cond.Wait()
				now = time.Now()
			}
			if c.closed == nil {
				c.send(now)
			}
		}
		if err := c.bw.Flush(); err != nil && c.closed == nil {
			c.closed = fmt.Errorf("writing: %w", err)
		}
		c.mu.Unlock()
		pause(tick)
		c.mu.Lock()
	}
}

// The open loop's tick. time.Sleep cannot give it: Go's timers wait in the netpoller, whose
// epoll timeout is in whole milliseconds, so a 100 µs sleep lasts about 1.1 ms, and a load
// "every 100 µs" arrives in bursts of a millisecond's calls. Under such bursts the last call of
// each waits while the server works through the rest (half a millisecond at half its capacity),
// which is the load generator's doing, not the server's.
const tick = 100 * time.Microsecond
