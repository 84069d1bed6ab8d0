package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/drawings"
	"github.com/patwatch/patwatch/internal/notify"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// countingCache is a FileStore that counts how its index is read.
type countingCache struct {
	*drawings.FileStore
	loads, eachs atomic.Int32
}

func (c *countingCache) LoadIndex(ctx context.Context) (*drawings.Index, error) {
	c.loads.Add(1)
	return c.FileStore.LoadIndex(ctx)
}

func (c *countingCache) EachSearch(ctx context.Context, fn func(string, *drawings.Search) error) error {
	c.eachs.Add(1)
	return c.FileStore.EachSearch(ctx, fn)
}

// drawing is a small PNG thumbnail of a patent drawing.
func drawing(t *testing.T) drawings.Thumb {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := 10; y < 38; y++ {
		img.Set(20, y, color.Black)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes()) // thumbnail size already: kept as it is
	return drawings.Thumb{Ref: drawings.Ref{SHA256: hex.EncodeToString(sum[:]), Format: drawings.PNG}, Width: 64, Height: 48, Data: buf.Bytes()}
}

// TestEmailPagesOfTwoChannels: notify.Deliver renders the e-mails of each
// channel in a goroutine of its own, so the pages of two e-mail channels
// are made at once (go test -race finds an index read without a lock).
// The index is read once, a search at a time, and each page shows the
// drawing its message's hit has.
func TestEmailPagesOfTwoChannels(t *testing.T) {
	ctx := context.Background()
	cache := &countingCache{FileStore: drawings.ForStateFile(filepath.Join(t.TempDir(), "s.json"))}
	th := drawing(t)
	if err := cache.Put(ctx, th); err != nil {
		t.Fatal(err)
	}
	idx := drawings.NewIndex()
	idx.Search("a").Hit("PN-A").Drawing = th.Ref
	idx.Search("a").Hit("PN-A").Want = true
	idx.Search("b").Hit("PN-B").Drawing = th.Ref
	idx.Search("b").Hit("PN-B").Want = true
	idx.Search("unnamed").Hit("PN-C").Drawing = th.Ref
	if err := cache.SaveIndex(ctx, idx); err != nil {
		t.Fatal(err)
	}

	r := &Runner{Log: zerolog.Nop(), Version: "test", Drawings: &drawings.Step{Cache: cache}}
	sp := &spec.Spec{Searches: []spec.Search{search("a"), search("b"), search("unnamed")}}
	outbox := []*state.Message{
		{ID: "1", Channel: "mail-one", Events: []state.Event{{Kind: notify.KindNew, Search: "a", PatentPN: "PN-A", Title: "Chair"}}},
		{ID: "2", Channel: "mail-two", Events: []state.Event{{Kind: notify.KindNew, Search: "b", PatentPN: "PN-B", Title: "Table"}}},
	}
	page := r.emailPages(ctx, sp, outbox)
	pages := make([]*report.Email, len(outbox))
	var wg sync.WaitGroup
	for i, m := range outbox {
		wg.Go(func() { pages[i] = page(m) })
	}
	wg.Wait()

	if n, l := cache.eachs.Load(), cache.loads.Load(); n != 1 || l != 0 {
		t.Errorf("the index was read %d times a search at a time and %d times whole; want once, a search at a time", n, l)
	}
	for i, p := range pages {
		if p == nil || !strings.Contains(p.HTML, outbox[i].Events[0].PatentPN) || len(p.Images) != 1 ||
			!bytes.Equal(p.Images[0].Data, th.Data) || !strings.Contains(p.HTML, `src="cid:`+p.Images[0].CID+`"`) {
			t.Errorf("the e-mail of message %s lacks its hit or its drawing: %+v", outbox[i].ID, p)
		}
	}
}
