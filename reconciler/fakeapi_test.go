package reconciler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap"
)

// fakeAPI is an in-memory API for unit tests of Reconciler.Run: each method
// answers from its function field and every call is logged. A call whose
// field is nil is one the test did not expect: it fails the test and the
// call. Searches call it concurrently.
type fakeAPI struct {
	t *testing.T

	search   func(ctx context.Context, req patsnap.SearchRequest) (*patsnap.SearchResult, error)
	upload   func(name string) (patsnap.Upload, error)
	reupload func(name string) (patsnap.Upload, error)
	create   func(req patsnap.ReportRequest) (string, error)
	status   func(jobID string) (*patsnap.ReportStatus, error)
	// download answers with the bytes the link serves; the fake writes them
	// to the target as the client does.
	download func(url string) ([]byte, error)

	mu    sync.Mutex
	calls []string
}

var _ API = (*fakeAPI)(nil)

func (f *fakeAPI) log(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

// Calls returns the calls made so far, sorted: searches run concurrently.
func (f *fakeAPI) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(slices.Values(f.calls))
}

func (f *fakeAPI) unexpected(call string) error {
	f.t.Errorf("unexpected call: %s", call)
	return errors.New("unexpected call " + call)
}

func (f *fakeAPI) Search(ctx context.Context, req patsnap.SearchRequest) (*patsnap.SearchResult, error) {
	call := fmt.Sprintf("search %v", req.URLs)
	f.log(call)
	if f.search == nil {
		return nil, f.unexpected(call)
	}
	return f.search(ctx, req)
}

func (f *fakeAPI) UploadImage(ctx context.Context, name string, data []byte) (patsnap.Upload, error) {
	f.log("upload " + name)
	if f.upload == nil {
		return patsnap.Upload{}, f.unexpected("upload " + name)
	}
	return f.upload(name)
}

func (f *fakeAPI) ReuploadImage(ctx context.Context, name string, data []byte) (patsnap.Upload, error) {
	f.log("reupload " + name)
	if f.reupload == nil {
		return patsnap.Upload{}, f.unexpected("reupload " + name)
	}
	return f.reupload(name)
}

func (f *fakeAPI) CreateReport(ctx context.Context, req patsnap.ReportRequest) (string, error) {
	call := fmt.Sprintf("create %s%s %s logo=%v", req.PatentNumber, req.PatentID, req.Format, req.Logo)
	f.log(call)
	if f.create == nil {
		return "", f.unexpected(call)
	}
	return f.create(req)
}

func (f *fakeAPI) ReportStatus(ctx context.Context, jobID string) (*patsnap.ReportStatus, error) {
	f.log("status " + jobID)
	if f.status == nil {
		return nil, f.unexpected("status " + jobID)
	}
	return f.status(jobID)
}

func (f *fakeAPI) Download(ctx context.Context, url, target, format string) (*patsnap.Download, error) {
	f.log("download " + url)
	if f.download == nil {
		return nil, f.unexpected("download " + url)
	}
	b, err := f.download(url)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(target, b, 0o644); err != nil {
		return nil, err
	}
	return &patsnap.Download{Path: target, Size: int64(len(b)), SHA256: sha256Hex(b)}, nil
}

func apiError(endpoint string, class patsnap.Class, msg string) error {
	return &patsnap.APIError{Endpoint: endpoint, Class: class, Msg: msg}
}
