package drawings

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"
)

// giveUpAfter is how many fetches from one host fail for the host (no
// answer, no connection, a 5xx) in a row before a run stops asking it: an
// image host that is down or unreachable costs a run one round of
// timeouts, not one per image.
const giveUpAfter = 3

// fetched is what one fetch made: a thumbnail, or that its link's image
// did not change (NotModified), or why it could not.
type fetched struct {
	thumb       Thumb
	validators  Validators
	notModified bool
	err         error
}

// fetchJob is one link to fetch (or one local file to thumbnail) and what
// waits for it.
type fetchJob struct {
	url   string
	since Validators // asked with: the answer may be NotModified
	local string     // a local file's path instead of a link
	done  []func(fetched)
	// result is set, under the pool's lock, once the job ran.
	result *fetched
}

// pool fetches links and makes their thumbnails while a run goes on:
// Concurrency downloads at once, suited to an image CDN, and as many
// thumbnail makers as there are CPUs, so that a download's slot is free
// again while its picture is decoded. Jobs are added at any time, by any
// goroutine, without waiting; a link added again (one object presigned
// twice) is fetched once. Each thumbnail goes to put (when set: an apply
// keeps them, and the thumbnail goes on without its bytes), then to the
// job's callbacks, one callback at a time.
type pool struct {
	step *Step
	put  func(Thumb) error
	// ctx ends the fetching: the run's end, or the budget after finish.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	wake    *sync.Cond
	queue   []*fetchJob
	byKey   map[string]*fetchJob
	closed  bool
	ended   bool           // finish has run
	hosts   map[string]int // consecutive failures by host; giveUpAfter: given up
	fetched int
	failed  int

	downloads, makers sync.WaitGroup
	bodies            chan body
}

// body is a download handed to the thumbnail makers.
type body struct {
	job    *fetchJob
	answer Answer
	err    error
}

// newPool starts a pool whose work ends when ctx does.
func (s *Step) newPool(ctx context.Context, put func(Thumb) error) *pool {
	p := &pool{step: s, put: put, byKey: map[string]*fetchJob{}, hosts: map[string]int{}, bodies: make(chan body)}
	p.ctx, p.cancel = context.WithCancel(ctx)
	p.wake = sync.NewCond(&p.mu)
	context.AfterFunc(p.ctx, func() { // wakes the idle downloads, which then end
		p.mu.Lock()
		defer p.mu.Unlock()
		p.wake.Broadcast()
	})
	workers := s.Concurrency
	if workers <= 0 {
		workers = DefaultConcurrency
	}
	for range workers {
		p.downloads.Go(p.download)
	}
	for range runtime.NumCPU() {
		p.makers.Go(p.make)
	}
	return p
}

// fetch adds the fetch of rawURL, asking with since for an image that
// changed (zero: any), and calls done with what it made.
func (p *pool) fetch(rawURL string, since Validators, done func(fetched)) {
	if rawURL == "" {
		done(fetched{err: errors.New("the API gave no image link")})
		return
	}
	// Asked with validators, an answer may be "not modified": not one
	// for a fetch without.
	p.add(objectKey(rawURL)+"\x00"+since.ETag+"\x00"+since.LastModified, &fetchJob{url: rawURL, since: since}, done)
}

// thumbnail adds the thumbnail of the local file at path.
func (p *pool) thumbnail(path string, done func(fetched)) {
	p.add("file:"+path, &fetchJob{local: path}, done)
}

func (p *pool) add(key string, job *fetchJob, done func(fetched)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if known := p.byKey[key]; known != nil {
		if known.result != nil {
			done(*known.result) // under the lock: callbacks run one at a time
			return
		}
		known.done = append(known.done, done)
		return
	}
	job.done = []func(fetched){done}
	p.byKey[key] = job
	p.queue = append(p.queue, job)
	p.wake.Signal()
}

// errOutOfTime is the error of a fetch the run's end or its budget for
// drawings cut.
var errOutOfTime = errors.New("the run's time for drawings ran out or it was interrupted")

// next waits for a job; false once the pool is closed and empty, or its
// context ended and no job waits (finish fails those added later).
func (p *pool) next() (*fetchJob, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.queue) == 0 {
		if p.closed || p.ctx.Err() != nil {
			return nil, false
		}
		p.wake.Wait()
	}
	job := p.queue[0]
	p.queue[0] = nil
	p.queue = p.queue[1:]
	return job, true
}

// download runs jobs until there are none: a link's body goes to the
// makers, a local file's name too.
func (p *pool) download() {
	for job, ok := p.next(); ok; job, ok = p.next() {
		b := body{job: job, err: p.ctx.Err()}
		if b.err == nil && job.local == "" {
			b.answer, b.err = p.get(job)
		}
		p.bodies <- b
	}
}

// get downloads a job's link, unless its host was given up.
func (p *pool) get(job *fetchJob) (Answer, error) {
	host := hostOf(job.url)
	p.mu.Lock()
	down := p.hosts[host] >= giveUpAfter
	p.mu.Unlock()
	if down {
		return Answer{}, fmt.Errorf("%s failed %d times in a row; not asked again in this run", host, giveUpAfter)
	}
	a, err := p.step.Fetcher.Download(p.ctx, job.url, job.since)
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case errors.Is(err, ErrHostFailed):
		if p.hosts[host]++; p.hosts[host] == giveUpAfter {
			p.step.Log.Warn().Str("host", host).Err(err).Int("failures", giveUpAfter).
				Msg("an image host failed repeatedly; its drawings are not fetched in this run, and the next run tries again")
		}
	case p.hosts[host] < giveUpAfter:
		p.hosts[host] = 0
	}
	return a, err
}

// hostOf is a link's host, for giving it up.
func hostOf(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return strings.ToLower(u.Host)
	}
	return ""
}

// make thumbnails bodies until the downloads are done.
func (p *pool) make() {
	for b := range p.bodies {
		f := p.thumb(b)
		if f.err != nil {
			p.step.Log.Debug().Err(f.err).Msg("a drawing was not fetched")
		}
		p.mu.Lock()
		p.complete(b.job, f)
		p.mu.Unlock()
	}
}

// complete gives job's callbacks what it made; p.mu is held.
func (p *pool) complete(job *fetchJob, f fetched) {
	switch {
	case f.err != nil:
		p.failed++
	case !f.notModified:
		p.fetched++
	}
	job.result = &f
	for _, done := range job.done {
		done(f)
	}
	job.done = nil
}

// thumb makes what a download brought into a thumbnail, and puts it (the
// thumbnail then goes on without its bytes).
func (p *pool) thumb(b body) fetched {
	f := fetched{err: b.err, validators: b.answer.Validators, notModified: b.answer.NotModified}
	switch {
	case f.err != nil && p.ctx.Err() != nil:
		f.err = errOutOfTime
		return f
	case f.err != nil || f.notModified:
		return f
	case b.job.local != "":
		f.thumb, f.err = p.step.localThumb(p.ctx, b.job.local)
	default:
		if f.thumb, f.err = p.step.thumb(p.ctx, b.answer.Body); f.err != nil {
			f.err = fmt.Errorf("the answer from %s: %w", b.answer.Host, f.err)
		}
	}
	if f.err != nil && p.ctx.Err() != nil { // waiting for room to decode
		f.err = errOutOfTime
	}
	if f.err == nil && p.put != nil {
		if err := p.put(f.thumb); err != nil {
			f.err = fmt.Errorf("not stored: %w", err)
		}
		f.thumb.Data = nil // stored: what waits for it needs its name, and a run of many holds no bytes
	}
	return f
}

// finish lets the jobs added so far run for at most budget, ends the
// pool and returns how many were fetched and how many failed. What is not
// fetched by then fails as out of time.
func (p *pool) finish(budget time.Duration) (ok, failed int) {
	p.mu.Lock()
	if p.ended { // a second call waits for nothing: the first did
		defer p.mu.Unlock()
		return p.fetched, p.failed
	}
	p.ended = true
	p.mu.Unlock()
	stop := time.AfterFunc(budget, p.cancel)
	defer stop.Stop()
	p.mu.Lock()
	p.closed = true
	p.wake.Broadcast()
	p.mu.Unlock()
	p.downloads.Wait()
	close(p.bodies)
	p.makers.Wait()
	p.cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, job := range p.queue { // added after the run's end stopped the downloads
		p.complete(job, fetched{err: errOutOfTime})
	}
	p.queue = nil
	return p.fetched, p.failed
}

// objectKey is a link without its presigning parameters (X-Amz-…): links
// that differ only in their presigned query name the same object.
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
