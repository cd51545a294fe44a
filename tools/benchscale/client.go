package main

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/tencentchat-exporter/tencentchat_exporter/internal/config"
	"github.com/tencentchat-exporter/tencentchat_exporter/internal/tencentchat"
)

// bareClient makes the calls a scrape makes (every batch of every app,
// concurrency at a time per app, apps in parallel) with the exporter's
// client alone, and returns the median time of runs rounds and the CPU
// time this process spent per round: what the simulator, loopback HTTP and
// the client cost before the collector and client_golang do anything. The
// results are decoded into one slice per round, as the exporter does.
func bareClient(base, key string, z size, concurrency, runs int) (time.Duration, time.Duration, error) {
	perApp := z.accounts / z.apps
	var batches []*tencentchat.Batch
	for lo := 0; lo < perApp; lo += config.MaxBatchSize {
		ids := make([]string, 0, config.MaxBatchSize)
		for i := lo; i < min(lo+config.MaxBatchSize, perApp); i++ {
			ids = append(ids, fmt.Sprintf("@TOA#_sim%05d", i))
		}
		b, err := tencentchat.NewBatch(ids, tencentchat.Fields())
		if err != nil {
			return 0, 0, err
		}
		batches = append(batches, b)
	}
	clients := make([]*tencentchat.Client, z.apps)
	for a := range clients {
		c, err := tencentchat.New(tencentchat.Options{BaseURL: base, SDKAppID: uint64(1400000000 + a),
			Identifier: "administrator", SecretKey: key, Timeout: 10 * time.Second, UserSigTTL: 24 * time.Hour})
		if err != nil {
			return 0, 0, err
		}
		clients[a] = c
	}
	// Wait for the simulator, then one warm-up round for the connections.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := clients[0].Fetch(context.Background(), batches[0], make([]tencentchat.Result, batches[0].Len()), nil, nil)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("simulator did not answer: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var (
		times []time.Duration
		cpu0  time.Duration
	)
	for run := 0; run <= runs; run++ {
		if run == 1 {
			cpu0 = selfCPU()
		}
		start := time.Now()
		results := make([]tencentchat.Result, perApp*len(clients))
		var wg sync.WaitGroup
		errs := make(chan error, len(clients)*len(batches))
		for a, c := range clients {
			wg.Go(func() {
				sem := make(chan struct{}, concurrency)
				var inner sync.WaitGroup
				for i, b := range batches {
					sem <- struct{}{}
					out := results[a*perApp+i*config.MaxBatchSize:][:b.Len()]
					inner.Go(func() {
						defer func() { <-sem }()
						if _, err := c.Fetch(context.Background(), b, out, nil, nil); err != nil {
							errs <- err
						}
					})
				}
				inner.Wait()
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return 0, 0, err
		}
		if run > 0 { // run 0 warms up
			times = append(times, time.Since(start))
		}
	}
	return median(times), (selfCPU() - cpu0) / time.Duration(runs), nil
}

// selfCPU is this process's user and system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
