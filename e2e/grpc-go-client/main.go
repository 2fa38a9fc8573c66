// grpc-go-client: a gRPC client built on grpc-go, for the tests that prove istio-lite's gRPC
// servers speak the protocol as grpc-go (and so Envoy's and other Go peers') expects, and for the
// benchmarks' load. Messages stay bytes: a codec that passes them through (grpc.ForceCodec), so
// no .proto is needed here; the caller encodes requests and decodes responses.
//
// One call (the default): request messages are read from stdin, one hex string a line (a unary
// method takes the first; -stream sends each line on a client stream, then closes it). Prints one
// JSON line: {"code":N,"message":"...","response":"hex"} (the status, even when not OK; exit 0).
//
//	grpc-go-client -target unix:/path/MIXER -method /envoy.service.auth.v3.Authorization/Check
//	grpc-go-client -target 127.0.0.1:9091 -method /pkg.Svc/Stream -stream -timeout 2s -metadata k=v
//
// Load (-load): the stdin lines are the requests, cycled; -concurrency calls in flight for
// -duration (closed loop), or -rate calls a second sent on schedule (open loop). Prints one JSON
// line: calls made, calls per second, p50 and p99 latency in ms, errors, the first error. With
// -raw the calls are written as HTTP/2 frames directly (rawload.go), for rates grpc-go's client
// cannot send on one core without its own work becoming the latency (no warm-up run then).
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// rawCodec sends and receives message bytes as they are. Its name makes the content-type
// application/grpc+proto, as a generated protobuf client sends.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

type result struct {
	Code     uint32 `json:"code"`
	Message  string `json:"message"`
	Response string `json:"response"`
}

type loadResult struct {
	Calls int64 `json:"calls"`
	// Calls of the warm-up (-raw: sent before it ended), answered and not counted elsewhere.
	WarmupCalls int64   `json:"warmupCalls,omitempty"`
	PerSecond   float64 `json:"perSecond"`
	P50         float64 `json:"p50"`
	P99         float64 `json:"p99"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"firstError,omitempty"`
}

func readMessages(r io.Reader) ([][]byte, error) {
	var out [][]byte
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 1<<20), 64<<20)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" {
			continue
		}
		b, err := hex.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("stdin line %d: not hex: %w", len(out)+1, err)
		}
		out = append(out, b)
	}
	return out, s.Err()
}

func withMetadata(ctx context.Context, pairs string) (context.Context, error) {
	if pairs == "" {
		return ctx, nil
	}
	var kv []string
	for _, p := range strings.Split(pairs, ",") {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("-metadata: %q is not key=value", p)
		}
		kv = append(kv, k, v)
	}
	return metadata.AppendToOutgoingContext(ctx, kv...), nil
}

func unary(ctx context.Context, conn *grpc.ClientConn, method string, req []byte) ([]byte, error) {
	var res []byte
	err := conn.Invoke(ctx, method, &req, &res)
	return res, err
}

func clientStream(ctx context.Context, conn *grpc.ClientConn, method string, reqs [][]byte) ([]byte, error) {
	desc := &grpc.StreamDesc{StreamName: method, ClientStreams: true}
	s, err := conn.NewStream(ctx, desc, method)
	if err != nil {
		return nil, err
	}
	for i := range reqs {
		if err := s.SendMsg(&reqs[i]); err != nil {
			break // the status comes from RecvMsg
		}
	}
	if err := s.CloseSend(); err != nil {
		return nil, err
	}
	var res []byte
	err = s.RecvMsg(&res)
	return res, err
}

func percentile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return float64(sorted[i].Microseconds()) / 1000
}

func load(conn *grpc.ClientConn, method string, reqs [][]byte, concurrency int, rate float64, d time.Duration, timeout time.Duration) loadResult {
	var next, errCount int64
	var firstErr atomic.Value
	var mu sync.Mutex
	var lat []time.Duration
	call := func() {
		i := atomic.AddInt64(&next, 1)
		req := reqs[int(i)%len(reqs)]
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		t0 := time.Now()
		_, err := unary(ctx, conn, method, req)
		el := time.Since(t0)
		cancel()
		if err != nil {
			atomic.AddInt64(&errCount, 1)
			firstErr.CompareAndSwap(nil, err.Error())
			return
		}
		mu.Lock()
		lat = append(lat, el)
		mu.Unlock()
	}
	start := time.Now()
	var wg sync.WaitGroup
	if rate > 0 {
		// Open loop: each call is sent when due, whether or not earlier ones have answered.
		interval := time.Duration(float64(time.Second) / rate)
		sent := 0
		for time.Since(start) < d {
			due := int(time.Since(start) / interval)
			for ; sent < due; sent++ {
				wg.Add(1)
				go func() { defer wg.Done(); call() }()
			}
			time.Sleep(200 * time.Microsecond)
		}
	} else {
		for w := 0; w < concurrency; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(start) < d {
					call()
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	r := loadResult{
		Calls:     int64(len(lat)) + errCount,
		PerSecond: float64(len(lat)) / elapsed.Seconds(),
		P50:       percentile(lat, 0.5),
		P99:       percentile(lat, 0.99),
		Errors:    errCount,
	}
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	return r
}

func run() error {
	target := flag.String("target", "", "unix:/path or host:port")
	method := flag.String("method", "", "the full method path, /package.Service/Method")
	stream := flag.Bool("stream", false, "a client-streaming call: every stdin line is a message")
	timeout := flag.Duration("timeout", 10*time.Second, "the call's deadline (sent as grpc-timeout)")
	md := flag.String("metadata", "", "request metadata, key=value[,key=value...]")
	loadMode := flag.Bool("load", false, "send the stdin requests as load and print figures")
	concurrency := flag.Int("concurrency", 32, "load: calls in flight (closed loop)")
	rate := flag.Float64("rate", 0, "load: calls a second, sent on schedule (open loop; 0: closed loop)")
	duration := flag.Duration("duration", 5*time.Second, "load: how long to send")
	warmup := flag.Duration("warmup", time.Second, "load: a closed-loop run not counted, first (-raw: the same load on the same connection)")
	raw := flag.Bool("raw", false, "load: pre-encoded HTTP/2 frames on one connection, not grpc-go's client (rawload.go)")
	flag.Parse()
	if *target == "" || *method == "" {
		return errors.New("-target and -method are required")
	}
	reqs, err := readMessages(os.Stdin)
	if err != nil {
		return err
	}
	if len(reqs) == 0 && (!*stream || *loadMode) {
		return errors.New("no request message on stdin (one hex string a line)")
	}
	if *raw {
		if !*loadMode {
			return errors.New("-raw is a load: it needs -load")
		}
		r, err := rawLoad(*target, *method, reqs, *rate, *concurrency, *duration, *warmup, *timeout)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	conn, err := grpc.NewClient(*target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{}), grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		return err
	}
	defer conn.Close()
	enc := json.NewEncoder(os.Stdout)
	if *loadMode {
		if *warmup > 0 {
			load(conn, *method, reqs, *concurrency, 0, *warmup, *timeout)
		}
		return enc.Encode(load(conn, *method, reqs, *concurrency, *rate, *duration, *timeout))
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	ctx, err = withMetadata(ctx, *md)
	if err != nil {
		return err
	}
	var res []byte
	if *stream {
		res, err = clientStream(ctx, conn, *method, reqs)
	} else {
		res, err = unary(ctx, conn, *method, reqs[0])
	}
	st := status.Convert(err)
	return enc.Encode(result{Code: uint32(st.Code()), Message: st.Message(), Response: hex.EncodeToString(res)})
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "grpc-go-client: %v\n", err)
		os.Exit(2)
	}
}
