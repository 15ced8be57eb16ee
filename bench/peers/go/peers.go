// Go's runtime as a peer in bench/run.sh: the same workloads as tasklets_bench
// (bench/common.hpp, bench_tasklets.cpp), written the way a Go programmer would write
// them, on one core (GOMAXPROCS=1, and run.sh pins the process like tasklets_bench).
//
//	go_peers timed REPS MIN_SECONDS   schedule, pingpong, ring, spawn_join: Google
//	                                  Benchmark's JSON on stdout, one entry per repetition
//	go_peers park N                   N goroutines each blocked on its own channel: one
//	                                  line of tasklets_bench --park's JSON on stdout
//	go_peers multicore REPS MIN_SECONDS
//	                                  skynet and fan-in with GOMAXPROCS=1 and 2, and the
//	                                  cross-thread ping-pong with GOMAXPROCS=2, with and
//	                                  without runtime.LockOSThread (run.sh runs this unpinned)
//
// Time per operation is process CPU time (getrusage: the garbage collector's and the
// runtime's own threads included), as for the tasklets rows, and wall time beside it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The workloads' sizes, as in bench/common.hpp.
const (
	spawnCount = 100_000   // spawn_join: goroutines per batch
	ringSize   = 503       // thread-ring nodes
	ringHops   = 503 * 100 // hops per batch (the token's start value)
)

func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// A workload: setup returns the function that performs n operations, and a teardown.
type workload struct {
	name  string
	label string
	setup func() (run func(n int64), teardown func())
	batch int64 // operations in one unit of n (0: 1); times are reported per operation
}

// schedule/go: main and one goroutine, each calling runtime.Gosched(); one operation is
// main's Gosched, which on one P runs the partner until it yields back.
func scheduleSetup() (func(int64), func()) {
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		for !stop.Load() {
			runtime.Gosched()
		}
		close(done)
	}()
	runtime.Gosched() // let the partner start
	return func(n int64) {
			for i := int64(0); i < n; i++ {
				runtime.Gosched()
			}
		}, func() {
			stop.Store(true)
			<-done
		}
}

// pingpong/go: main and one goroutine, two unbuffered channels of int. The cross-thread
// rows (xpingpong/go_*) are the same with GOMAXPROCS=2: without LockOSThread Go's scheduler
// runs both goroutines on one thread (the hand-off never leaves the P), so that row is not
// a cross-thread figure; with it, each goroutine owns a thread and every hand-off wakes
// the other one.
func pingpongSetup(procs int, locked bool) func() (func(int64), func()) {
	return func() (func(int64), func()) {
		runtime.GOMAXPROCS(procs)
		ping, pong := make(chan int), make(chan int)
		go func() {
			if locked {
				runtime.LockOSThread()
			}
			for {
				v := <-ping
				if v < 0 {
					return
				}
				pong <- v + 1
			}
		}()
		if locked {
			runtime.LockOSThread()
		}
		value := 0
		return func(n int64) {
				for i := int64(0); i < n; i++ {
					ping <- value
					value = <-pong & 0x3fffffff
				}
			}, func() {
				ping <- -1
				if locked {
					runtime.UnlockOSThread()
				}
				runtime.GOMAXPROCS(1)
			}
	}
}

// ring/go: 503 goroutines, an unbuffered channel each; a node passes token-1 to the next,
// and the one that receives 0 reports on done. One operation is one hop.
func ringSetup() (func(int64), func()) {
	ch := make([]chan int, ringSize)
	for i := range ch {
		ch[i] = make(chan int)
	}
	done := make(chan int)
	for i := 0; i < ringSize; i++ {
		go func(i int) {
			in, out := ch[i], ch[(i+1)%ringSize]
			for {
				t := <-in
				if t < 0 {
					return
				}
				if t == 0 {
					done <- i
				} else {
					out <- t - 1
				}
			}
		}(i)
	}
	return func(n int64) {
			for n > 0 {
				hops := n
				if hops > ringHops {
					hops = ringHops
				}
				ch[0] <- int(hops)
				<-done
				n -= hops
			}
		}, func() {
			for _, c := range ch {
				c <- -1
			}
		}
}

// spawn_join/go: 100,000 goroutines that each increment a counter, then wait for all.
// The counter is atomic (tasklets' is a plain long: one thread); a WaitGroup is the join.
func spawnJoinSetup() (func(int64), func()) {
	return func(n int64) {
		for n > 0 {
			batch := int64(spawnCount)
			if batch > n {
				batch = n
			}
			var counter atomic.Int64
			var wg sync.WaitGroup
			wg.Add(int(batch))
			for i := int64(0); i < batch; i++ {
				go func() {
					counter.Add(1)
					wg.Done()
				}()
			}
			wg.Wait()
			if counter.Load() != batch {
				panic("counter mismatch")
			}
			n -= batch
		}
	}, func() {}
}

// skynet/go_*: each goroutine spawns 10 children down to 1,000,000 leaves; the sums come
// back over an unbuffered channel per parent (the classic Go program). One unit of n is a
// whole skynet; times are reported per goroutine, of the 1,111,111.
const (
	skynetLeaves = 1_000_000
	skynetTasks  = 1_111_111
	skynetSum    = 499_999_500_000
)

func skynet(out chan<- int64, num int64, size int64) {
	if size == 1 {
		out <- num
		return
	}
	results := make(chan int64)
	child := size / 10
	for i := int64(0); i < 10; i++ {
		go skynet(results, num+i*child, child)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-results
	}
	out <- sum
}

func skynetSetup(procs int) func() (func(int64), func()) {
	return func() (func(int64), func()) {
		runtime.GOMAXPROCS(procs)
		return func(n int64) {
				for ; n > 0; n-- {
					out := make(chan int64)
					go skynet(out, 0, skynetLeaves)
					if <-out != skynetSum {
						panic("skynet: wrong sum")
					}
				}
			}, func() {
				runtime.GOMAXPROCS(1)
			}
	}
}

// fanin/go_*: a producer goroutine per P sends on one unbuffered channel; one operation is
// one message taken by the consumer (main).
func faninSetup(procs int) func() (func(int64), func()) {
	return func() (func(int64), func()) {
		runtime.GOMAXPROCS(procs)
		messages := make(chan int)
		var stop atomic.Bool
		var producers sync.WaitGroup
		for p := 0; p < procs; p++ {
			producers.Add(1)
			go func(p int) {
				defer producers.Done()
				for !stop.Load() {
					messages <- p
				}
			}(p)
		}
		sum := 0
		return func(n int64) {
				for i := int64(0); i < n; i++ {
					sum += <-messages
				}
			}, func() {
				stop.Store(true)
				done := make(chan struct{})
				go func() {
					producers.Wait()
					close(done)
				}()
				for { // take what producers still hold until every one has seen stop
					select {
					case <-messages:
						continue
					case <-done:
					}
					break
				}
				runtime.GOMAXPROCS(1)
			}
	}
}

var multicoreWorkloads = []workload{
	{"skynet/go_1proc", "unbuffered chan int64 per parent, GOMAXPROCS=1", skynetSetup(1), skynetTasks},
	{"skynet/go_2procs", "unbuffered chan int64 per parent, GOMAXPROCS=2", skynetSetup(2), skynetTasks},
	{"xpingpong/go_2procs", "unbuffered chan int, GOMAXPROCS=2 (both goroutines end up on one thread)", pingpongSetup(2, false), 1},
	{"fanin/go_1proc", "a producer per P, one unbuffered chan int, GOMAXPROCS=1", faninSetup(1), 1},
	{"fanin/go_2procs", "a producer per P, one unbuffered chan int, GOMAXPROCS=2", faninSetup(2), 1},
	{"xpingpong/go_locked_2threads", "unbuffered chan int, GOMAXPROCS=2, runtime.LockOSThread in both", pingpongSetup(2, true), 1},
}

var workloads = []workload{
	{"schedule/go", "runtime.Gosched, GOMAXPROCS=1", scheduleSetup, 1},
	{"pingpong/go", "unbuffered chan int, GOMAXPROCS=1", pingpongSetup(1, false), 1},
	{"ring/go", "503 goroutines, unbuffered chan int each, GOMAXPROCS=1", ringSetup, 1},
	{"spawn_join/go", "go + sync.WaitGroup, GOMAXPROCS=1", spawnJoinSetup, 1},
}

// One Google Benchmark "iteration" entry (what bench/render.py reads).
type entry struct {
	Name            string  `json:"name"`
	RunName         string  `json:"run_name"`
	RunType         string  `json:"run_type"`
	Repetitions     int     `json:"repetitions"`
	RepetitionIndex int     `json:"repetition_index"`
	Iterations      int64   `json:"iterations"`
	RealTime        float64 `json:"real_time"`
	CPUTime         float64 `json:"cpu_time"`
	TimeUnit        string  `json:"time_unit"`
	Label           string  `json:"label"`
}

// measure runs w for at least minSeconds of wall time, growing n as Google Benchmark
// does, and returns the last (long enough) run's per-operation times.
func measure(run func(int64), minSeconds float64) (n int64, wallNs, cpuNs float64) {
	n = 1
	for {
		w0, c0 := time.Now(), cpuNanos()
		run(n)
		wall := float64(time.Since(w0).Nanoseconds())
		cpu := float64(cpuNanos() - c0)
		if wall >= minSeconds*1e9 || n >= 1<<40 {
			return n, wall / float64(n), cpu / float64(n)
		}
		grow := 10.0
		if wall > 0 {
			grow = minSeconds * 1e9 * 1.4 / wall
		}
		if grow > 10 {
			grow = 10
		}
		if grow < 2 {
			grow = 2
		}
		n = int64(float64(n) * grow)
	}
}

func timed(workloads []workload, reps int, minSeconds float64) {
	var out []entry
	// Repetitions interleaved over the workloads, as run.sh asks of tasklets_bench, so a
	// burst of noise spreads over every row.
	for r := 0; r < reps; r++ {
		for _, w := range workloads {
			run, teardown := w.setup()
			n, wall, cpu := measure(run, minSeconds)
			teardown()
			if w.batch > 1 {
				n, wall, cpu = n*w.batch, wall/float64(w.batch), cpu/float64(w.batch)
			}
			out = append(out, entry{w.name, w.name, "iteration", reps, r, n, wall, cpu, "ns",
				w.label + ", " + runtime.Version()})
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"benchmarks": out}); err != nil {
		panic(err)
	}
}

// statusBytes reads a "kB" field of /proc/self/status, in bytes.
func statusBytes(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := s.Text(); strings.HasPrefix(line, field+":") {
			rest := strings.TrimSpace(strings.TrimPrefix(line, field+":"))
			kb, err := strconv.ParseInt(strings.TrimSuffix(rest, " kB"), 10, 64)
			if err != nil {
				panic(err)
			}
			return kb * 1024
		}
	}
	panic("no " + field + " in /proc/self/status")
}

func countVMAs() int {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return -1
	}
	return strings.Count(string(b), "\n")
}

// park: n goroutines, each blocked receiving on its own unbuffered channel, measured as
// tasklets_bench --park measures (VmRSS and VmSize before and after, whole process).
// Spawned in chunks of 10,000, each chunk run until every goroutine in it has blocked,
// with a progress line per chunk on stderr (run.sh reports the last one if we die).
func park(n int64) {
	rss0, vm0 := statusBytes("VmRSS"), statusBytes("VmSize")
	chans := make([]chan int, n) // kept: the goroutines must stay parked until exit
	var started sync.WaitGroup
	const chunk = 10_000
	t0 := time.Now()
	for base := int64(0); base < n; base += chunk {
		end := base + chunk
		if end > n {
			end = n
		}
		started.Add(int(end - base))
		for i := base; i < end; i++ {
			c := make(chan int)
			chans[i] = c
			go func() {
				started.Done()
				<-c
			}()
		}
		started.Wait()
		// On one P the goroutines that have called Done but not yet blocked are queued
		// behind this one: yielding once lets each of them reach its receive.
		runtime.Gosched()
		fmt.Fprintf(os.Stderr, "parked %d\n", end)
	}
	seconds := time.Since(t0).Seconds()
	rss1, vm1 := statusBytes("VmRSS"), statusBytes("VmSize")
	per := 1 / float64(n)
	fmt.Printf("{\"name\": \"go\", \"requested\": %d, \"parked\": %d, \"ok\": true, \"seconds\": %.6f, "+
		"\"ns_per_park\": %.1f, \"rss_bytes_per\": %.1f, \"vm_bytes_per\": %.1f, "+
		"\"rss_delta_bytes\": %d, \"vm_delta_bytes\": %d, \"vmas\": %d, "+
		"\"note\": \"goroutine blocked on its own unbuffered chan int, GOMAXPROCS=1, %s\"}\n",
		n, n, seconds, seconds*1e9*per, float64(rss1-rss0)*per, float64(vm1-vm0)*per,
		rss1-rss0, vm1-vm0, countVMAs(), runtime.Version())
	runtime.KeepAlive(chans)
	os.Exit(0)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: go_peers timed|multicore REPS MIN_SECONDS | go_peers park N")
	os.Exit(2)
}

func main() {
	runtime.GOMAXPROCS(1)
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "timed", "multicore":
		if len(os.Args) != 4 {
			usage()
		}
		reps, err1 := strconv.Atoi(os.Args[2])
		minSeconds, err2 := strconv.ParseFloat(os.Args[3], 64)
		if err1 != nil || err2 != nil || reps < 1 || minSeconds <= 0 {
			fmt.Fprintln(os.Stderr, "go_peers: REPS must be a positive integer and MIN_SECONDS a positive number")
			os.Exit(2)
		}
		if os.Args[1] == "timed" {
			timed(workloads, reps, minSeconds)
		} else {
			timed(multicoreWorkloads, reps, minSeconds)
		}
	case "park":
		if len(os.Args) != 3 {
			usage()
		}
		n, err := strconv.ParseInt(os.Args[2], 10, 64)
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "go_peers park: N must be a positive integer")
			os.Exit(2)
		}
		park(n)
	default:
		usage()
	}
}
