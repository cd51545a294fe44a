package source

import (
	"context"
	"sync"
)

// each runs work(i) for every i in [0, n), at most limit at once, in
// order of i; once ctx ends no more are started, and skip(i) is called
// for each of those instead. It returns when every work has returned.
// The scrape's own fetch and every job's run share it, so their calls are
// bounded alike by the app's concurrency.
func each(ctx context.Context, n, limit int, work, skip func(i int)) {
	var (
		wg  sync.WaitGroup
		sem = make(chan struct{}, max(limit, 1))
	)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			for ; i < n; i++ {
				if skip != nil {
					skip(i)
				}
			}
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			work(i)
		})
	}
	wg.Wait()
}
