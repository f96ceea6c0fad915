// The Go contender: the pattern of the Go worker pools in our seed material,
// a buffered channel of 1024 jobs drained by N goroutines (GOMAXPROCS is
// set by the driver: 2 in bench/run.sh, the pinned CPU count in
// bench/scale.sh). Sending blocks when the channel is full, so it is a
// bounded queue with blocking submission; there is no batch call.
//
// usage: bench-go WORKLOAD JOBS [SPIN_ITERS]  (the workloads of harness.c,
// plus queue_1p1c and queue_2p2c: ITEMS uintptr values through a channel of
// 1024). Prints one RESULT line in the harness's format. BENCH_WORKERS and
// BENCH_PRODUCERS as in harness.c: worker goroutines (default 2) and
// producer goroutines of the throughput workloads (default the workload's).
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const capacity = 1024
const maxProducers = 64

var workers = 2

var doneCount int64
var target int64
var endTime time.Time
var finished = make(chan struct{})
var sink uint64

func spin(iters uint64) uint64 {
	x := uint64(88172645463325252)
	for i := uint64(0); i < iters; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		x ^= x >> 29
	}
	return x
}

func count() {
	if atomic.AddInt64(&doneCount, 1) == target {
		endTime = time.Now()
		close(finished)
	}
}

type pool struct {
	jobs chan func()
	wg   sync.WaitGroup
}

func newPool(n int) *pool {
	p := &pool{jobs: make(chan func(), capacity)}
	for i := 0; i < n; i++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for f := range p.jobs {
				f()
			}
		}()
	}
	return p
}

func (p *pool) close() { close(p.jobs); p.wg.Wait() }

var producersUsed = 1

func result(wl string, jobs int64, secs float64, p50, p99 float64, ok bool, flags int) {
	o := 0
	if ok {
		o = 1
	}
	fmt.Printf("RESULT go %s jobs=%d secs=%.6f p50=%.0f p99=%.0f ok=%d flags=%d workers=%d producers=%d\n",
		wl, jobs, secs, p50, p99, o, flags, workers, producersUsed)
}

// envInt reads an integer in [lo, hi] from the environment; def when unset.
func envInt(name string, def, lo, hi int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	x, err := strconv.Atoi(v)
	if err != nil || x < lo || x > hi {
		fmt.Fprintf(os.Stderr, "%s must be a number from %d to %d\n", name, lo, hi)
		os.Exit(2)
	}
	return x
}

func queueRun(wl string, items int64) {
	np := 1
	if wl == "queue_2p2c" {
		np = 2
	}
	ch := make(chan uintptr, capacity)
	var sum uint64
	var got int64
	var wg sync.WaitGroup
	start := time.Now()
	next := int64(1)
	for p := 0; p < np; p++ {
		n := items / int64(np)
		if p == 0 {
			n += items % int64(np)
		}
		first, last := next, next+n-1
		next += n
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := first; v <= last; v++ {
				ch <- uintptr(v)
			}
		}()
	}
	var cw sync.WaitGroup
	for c := 0; c < np; c++ {
		quota := items / int64(np)
		if c == 0 {
			quota += items % int64(np)
		}
		cw.Add(1)
		go func() {
			defer cw.Done()
			var s uint64
			for i := int64(0); i < quota; i++ {
				s += uint64(<-ch)
			}
			atomic.AddUint64(&sum, s)
			atomic.AddInt64(&got, quota)
		}()
	}
	wg.Wait()
	cw.Wait()
	secs := time.Since(start).Seconds()
	n := uint64(items)
	ok := uint64(got) == n && sum == n*(n+1)/2
	result(wl, items, secs, 0, 0, ok, 1)
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: bench-go WORKLOAD JOBS [SPIN_ITERS]")
		os.Exit(2)
	}
	wl := os.Args[1]
	jobs, _ := strconv.ParseInt(os.Args[2], 10, 64)
	var iters uint64
	if len(os.Args) > 3 {
		iters, _ = strconv.ParseUint(os.Args[3], 10, 64)
	}
	workers = envInt("BENCH_WORKERS", 2, 1, 256)
	if wl == "queue_1p1c" || wl == "queue_2p2c" {
		// The queue workloads keep their own sides (1+1, 2+2).
		workers = 1
		if wl == "queue_2p2c" {
			workers, producersUsed = 2, 2
		}
		queueRun(wl, jobs)
		return
	}
	if wl == "pingpong_latency" || wl == "pingpong_sleep" {
		// Waiting the Go way: the job signals an unbuffered channel.
		p := newPool(workers)
		done := make(chan struct{})
		job := func() { done <- struct{}{} }
		lat := make([]int64, jobs)
		start := time.Now()
		for i := int64(0); i < jobs; i++ {
			if wl == "pingpong_sleep" {
				time.Sleep(time.Millisecond)
			}
			t0 := time.Now()
			p.jobs <- job
			<-done
			lat[i] = int64(time.Since(t0))
		}
		secs := time.Since(start).Seconds()
		p.close()
		sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
		result(wl, jobs, secs, float64(lat[jobs/2]), float64(lat[int64(float64(jobs)*0.99)]), true, 1)
		return
	}
	job := count
	producers := 1
	switch wl {
	case "empty_1p2w", "batch_1p2w":
	case "empty_2p2w":
		producers = 2
	case "work1us_1p2w":
		job = func() { atomic.AddUint64(&sink, spin(iters)&1); count() }
	default:
		fmt.Fprintln(os.Stderr, "unknown workload", wl)
		os.Exit(2)
	}
	producers = envInt("BENCH_PRODUCERS", producers, 1, maxProducers)
	producersUsed = producers
	if jobs < int64(producers) {
		fmt.Fprintln(os.Stderr, "JOBS must be at least the number of producers")
		os.Exit(2)
	}
	target = jobs
	p := newPool(workers)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < producers; i++ {
		n := jobs / int64(producers)
		if i == 0 {
			n += jobs % int64(producers)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := int64(0); k < n; k++ {
				p.jobs <- job
			}
		}()
	}
	wg.Wait()
	<-finished
	secs := endTime.Sub(start).Seconds()
	p.close()
	result(wl, jobs, secs, 0, 0, atomic.LoadInt64(&doneCount) == jobs, 1)
}
