package drawings

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
)

// fetchJobs are the image links a step fetches, each once however many
// hits share it: links that differ only in their presigned query name the
// same object.
type fetchJobs struct {
	order []string
	byKey map[string]*fetchJob
}

type fetchJob struct {
	url  string
	done []func(Thumb, error)
}

func (j *fetchJobs) add(rawURL string, done func(Thumb, error)) {
	if j.byKey == nil {
		j.byKey = map[string]*fetchJob{}
	}
	if rawURL == "" {
		done(Thumb{}, errors.New("the API gave no image link"))
		return
	}
	key := objectKey(rawURL)
	job := j.byKey[key]
	if job == nil {
		job = &fetchJob{url: rawURL}
		j.byKey[key] = job
		j.order = append(j.order, key)
	}
	job.done = append(job.done, done)
}

// objectKey is a link without its presigning parameters (X-Amz-…).
func objectKey(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// runFetches downloads every job, Concurrency at once, within Budget, and
// hands each body to as many thumbnail makers as there are CPUs, so that a
// download's slot is free again while its picture is decoded and scaled.
// Each thumbnail goes to put (when set: an apply keeps them), then to the
// job's callbacks, one callback at a time. It returns how many links were
// fetched and how many failed.
func (s *Step) runFetches(ctx context.Context, jobs *fetchJobs, put func(Thumb) error) (fetched, failed int) {
	if len(jobs.order) == 0 {
		return 0, 0
	}
	budget := s.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	workers := s.Concurrency
	if workers <= 0 {
		workers = DefaultConcurrency
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	f := &s.Fetcher
	outOfTime := func(err error) error {
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("the run's %s for drawings ran out or it was interrupted", budget)
		}
		return err
	}

	type body struct {
		job  *fetchJob
		data []byte
		host string
		err  error
	}
	next := make(chan *fetchJob)
	bodies := make(chan body)
	var downloads, makers sync.WaitGroup
	for range min(workers, len(jobs.order)) {
		downloads.Go(func() {
			for job := range next {
				b := body{job: job, err: ctx.Err()}
				if b.err == nil {
					b.data, b.host, b.err = f.Download(ctx, job.url)
				}
				bodies <- b
			}
		})
	}
	var mu sync.Mutex // serialises the callbacks, which update the index
	for range min(runtime.NumCPU(), len(jobs.order)) {
		makers.Go(func() {
			for b := range bodies {
				var t Thumb
				err := outOfTime(b.err)
				if err == nil {
					if t, err = s.thumb(ctx, b.data); err != nil {
						err = fmt.Errorf("the answer from %s: %w", b.host, err)
					}
				}
				if err == nil && put != nil {
					if perr := put(t); perr != nil {
						err = fmt.Errorf("not stored: %w", perr)
					}
				}
				if err != nil {
					s.Log.Debug().Err(err).Msg("a drawing was not fetched")
				}
				mu.Lock()
				if err != nil {
					failed++
				} else {
					fetched++
				}
				for _, done := range b.job.done {
					done(t, err)
				}
				mu.Unlock()
			}
		})
	}
	for _, key := range jobs.order {
		next <- jobs.byKey[key]
	}
	close(next)
	downloads.Wait()
	close(bodies)
	makers.Wait()
	return fetched, failed
}
