package spec

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/patwatch/patwatch/internal/filekind"
	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/suggest"
)

// MaxImageSize is the largest local image PatSnap's upload (P010) accepts.
const MaxImageSize = 4 << 20

// MinInterval is the shortest watch interval a spec may set.
const MinInterval = time.Minute

// build runs the checks the schema cannot express and fills the typed Spec
// with defaults applied. It reads v defensively: the schema may have found
// problems already, and every field of the wrong type is simply skipped
// here so that all problems are still reported in one pass.
func (l *loader) build(v any) *Spec {
	top, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	s := &Spec{Version: 1, API: API{QPS: patsnap.DefaultQPS}}
	s.Interval = l.interval([]string{"interval"}, top["interval"])
	l.outsideImages, _ = top["allow_outside_images"].(bool)
	if api, ok := top["api"].(map[string]any); ok {
		if u, ok := api["base_url"].(string); ok {
			s.API.BaseURL = l.baseURL([]string{"api", "base_url"}, u)
		}
		if q, ok := floatOf(api["qps"]); ok && q > 0 {
			s.API.QPS = q
		}
		if n, ok := intOf(api["max_calls"]); ok && n >= 1 {
			s.API.MaxCalls = n
		}
		if n, ok := intOf(api["max_calls_per_day"]); ok && n >= 1 {
			s.API.MaxCallsPerDay = n
		}
	}
	l.decisionsField, _ = top["decisions"].(string)
	s.Links.Patent = DefaultPatentLink
	if links, ok := top["links"].(map[string]any); ok {
		if t, ok := links["patent"].(string); ok {
			s.Links.Patent = cmp.Or(l.linkTemplate([]string{"links", "patent"}, t), DefaultPatentLink)
		}
	}
	if list, ok := top["searches"].([]any); ok {
		names := map[string]int{}
		for i, e := range list {
			if m, ok := e.(map[string]any); ok {
				s.Searches = append(s.Searches, l.search([]string{"searches", strconv.Itoa(i)}, m, names))
			}
		}
	}
	if list, ok := top["reports"].([]any); ok {
		names := map[string]int{}
		for i, e := range list {
			if m, ok := e.(map[string]any); ok {
				s.Reports = append(s.Reports, l.report([]string{"reports", strconv.Itoa(i)}, m, names))
			}
		}
	}
	if list, ok := top["notify"].([]any); ok {
		names := map[string]int{}
		var entries []string
		for _, se := range s.Searches {
			entries = append(entries, se.Name)
		}
		for _, r := range s.Reports {
			entries = append(entries, r.Name)
		}
		for i, e := range list {
			if m, ok := e.(map[string]any); ok {
				s.Notify = append(s.Notify, l.channel([]string{"notify", strconv.Itoa(i)}, m, names, entries))
			}
		}
	}
	return s
}

// channel checks and builds notify[i]: a URL or the variable holding one,
// and filters that name entries of the spec. A URL written in the spec is
// checked with CheckChannelURL, as the notifier checks one from the
// environment before it sends.
func (l *loader) channel(ptr []string, m map[string]any, names map[string]int, entries []string) Channel {
	c := Channel{On: EventKinds}
	if n, _, _ := l.resolve(ptr); n != nil {
		c.Line = n.Line
	}
	c.Name, _ = m["name"].(string)
	l.unique(ptr, "notify", c.Name, names)
	c.URLEnv, _ = m["url_env"].(string)
	c.URL, _ = m["url"].(string)
	c.SecretEnv, _ = m["secret_env"].(string)
	field := "url"
	if c.URLEnv != "" {
		field = "url_env"
	}
	if n, _, ok := l.resolve(with(ptr, field)); ok {
		c.URLLine, c.URLCol = n.Line, n.Column
	}
	_, hasEnv := m["url_env"]
	_, hasURL := m["url"]
	switch {
	case hasEnv && hasURL:
		l.addKey(with(ptr, "url"), "set url or url_env, not both", "channel URLs usually hold tokens: keep them in the environment variable url_env names")
	case !hasEnv && !hasURL:
		l.add(with(ptr, "url_env"), "required field is missing", "name the environment variable that holds the channel's URL, e.g. url_env: PATWATCH_NOTIFY_"+strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(c.Name)))
	case hasURL && c.URL != "":
		if _, err := CheckChannelURL(c.URL); err != nil {
			hint := ""
			if ue, ok := err.(*URLError); ok {
				hint = ue.Hint()
			}
			l.add(with(ptr, "url"), "the URL "+err.Error(), hint)
		}
	}
	if on := stringList(m["on"]); len(on) > 0 {
		c.On = on
	}
	for j, name := range stringList(m["searches"]) {
		c.Searches = append(c.Searches, name)
		if !slices.Contains(entries, name) {
			hint := ""
			if best := suggest.Closest(name, entries); best != "" {
				hint = "did you mean " + best + "?"
			}
			l.add(with(ptr, "searches", strconv.Itoa(j)), fmt.Sprintf("no search or report is named %q", name), hint)
		}
	}
	if sc, ok := floatOf(m["min_score"]); ok {
		c.MinScore = sc
	}
	return c
}

// interval reads a duration field that must be at least MinInterval; the
// schema has checked its syntax.
func (l *loader) interval(ptr []string, v any) time.Duration {
	iv, ok := v.(string)
	if !ok || !durationRE.MatchString(iv) {
		return 0
	}
	d, err := ParseDuration(iv)
	switch {
	case err != nil:
		l.add(ptr, err.Error(), "")
	case d < MinInterval:
		l.add(ptr, fmt.Sprintf("must be at least 1m, not %s", iv), "polling the API more often than once a minute only spends quota")
	default:
		return d
	}
	return 0
}

// linkTemplate checks a durable link template: an absolute http(s) URL once
// its placeholders are filled in. The schema has checked the scheme and that
// a placeholder is there.
func (l *loader) linkTemplate(ptr []string, t string) string {
	if !linkRE.MatchString(t) {
		return ""
	}
	probe := strings.NewReplacer("{patent_pn}", "CN1", "{patent_id}", "id").Replace(t)
	if u, err := url.Parse(probe); err != nil || u.Host == "" {
		l.add(ptr, "must be an absolute http(s) URL such as https://worldwide.espacenet.com/patent/search?q=pn%3D{patent_pn}", "")
		return ""
	}
	return t
}

var linkRE = regexp.MustCompile(`^[Hh][Tt][Tt][Pp][Ss]?://.*\{patent_(pn|id)\}`)

// baseURL checks the API root: https, or http to a loopback host only, and
// nothing that could carry a secret. Messages never echo the URL.
func (l *loader) baseURL(ptr []string, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		l.add(ptr, "must be an absolute URL such as https://connect.zhihuiya.com", "")
		return ""
	}
	if u.User != nil {
		l.add(ptr, "must not contain a user name or password", "credentials come only from the environment: PATSNAP_CLIENT_ID and PATSNAP_CLIENT_SECRET, or PATSNAP_API_KEY")
		return ""
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		l.add(ptr, "must not have a query string or fragment", "the API key is read from PATSNAP_API_KEY, never from the spec")
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !IsLoopbackHost(u.Hostname()) {
			l.add(ptr, "must use https; plain http is accepted only for localhost, 127.0.0.0/8 and ::1", "")
			return ""
		}
	default:
		l.add(ptr, "must be an https:// URL", "")
		return ""
	}
	return strings.TrimRight(raw, "/")
}

// IsLoopbackHost reports whether h names this machine (localhost,
// 127.0.0.0/8, ::1): the only hosts plain http is accepted for.
func IsLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// search checks and builds searches[i]; names maps each name seen so far to
// its index.
func (l *loader) search(ptr []string, m map[string]any, names map[string]int) Search {
	s := Search{MaxResults: patsnap.DefaultMaxResults, DropAfter: 1}
	if n, _, _ := l.resolve(ptr); n != nil {
		s.Line = n.Line
	}
	s.Name, _ = m["name"].(string)
	l.unique(ptr, "searches", s.Name, names)

	img, hasImage := m["image"]
	imgs, hasImages := m["images"]
	switch {
	case hasImage && hasImages:
		l.addKey(with(ptr, "images"), "set image or images, not both", "image: takes one image; images: takes 2 to 4")
	case !hasImage && !hasImages:
		l.add(with(ptr, "image"), "required field is missing", "set image: to one image, or images: to a list of 2 to 4")
	case hasImage:
		if str, ok := img.(string); ok && str != "" {
			if im, ok := l.image(with(ptr, "image"), str); ok {
				s.Images = []Image{im}
			}
		}
	case hasImages:
		list, _ := imgs.([]any)
		seen := map[string]int{}
		for j, e := range list {
			str, ok := e.(string)
			if !ok || str == "" {
				continue
			}
			p := with(ptr, "images", strconv.Itoa(j))
			im, ok := l.image(p, str)
			if !ok {
				continue
			}
			if first, dup := seen[im.key()]; dup {
				l.add(p, fmt.Sprintf("same image as images[%d]", first), "each image of a multi-image search must differ")
				continue
			}
			seen[im.key()] = j
			s.Images = append(s.Images, im)
		}
	}

	s.PatentType, _ = m["patent_type"].(string)
	if model, ok := intOf(m["model"]); ok && model >= 1 && model <= 4 {
		s.Model = model
		switch {
		case s.PatentType == "D" && model > 2:
			l.add(with(ptr, "model"), fmt.Sprintf("model %d is for utility models (patent_type U); design searches use model 1 or 2", model), "")
		case s.PatentType == "U" && model < 3:
			l.add(with(ptr, "model"), fmt.Sprintf("model %d is for design patents (patent_type D); utility model searches use model 3 or 4", model), "")
		}
	}
	if f, ok := m["filters"].(map[string]any); ok {
		s.Filters = l.filters(with(ptr, "filters"), f)
	}
	if n, ok := intOf(m["max_results"]); ok && n >= 1 && n <= patsnap.MaxReachable {
		s.MaxResults = n
	}
	if sc, ok := floatOf(m["min_score"]); ok {
		s.MinScore = sc
		if f := s.Filters.Field; f != "" && f != "SCORE" {
			l.add(with(ptr, "min_score"), fmt.Sprintf("has no effect: results ranked by %s carry no similarity score", f),
				"remove min_score, or rank by similarity (filters.field: SCORE or unset)")
		}
	}
	if n, ok := intOf(m["drop_after"]); ok && n >= 1 {
		s.DropAfter = n
	}
	s.Interval = l.interval(with(ptr, "interval"), m["interval"])
	s.AllowMassDrop, _ = m["allow_mass_drop"].(bool)
	s.Suspend, _ = m["suspend"].(bool)
	if a, ok := m["auto_report"].(map[string]any); ok {
		s.AutoReport = l.autoReport(with(ptr, "auto_report"), a, s.PatentType)
	}
	s.Fingerprint = QueryFingerprint(s)
	return s
}

// unique records a problem when name was already used in the same list.
func (l *loader) unique(ptr []string, list, name string, names map[string]int) {
	if name == "" {
		return
	}
	idx, _ := strconv.Atoi(ptr[len(ptr)-1])
	if first, dup := names[name]; dup {
		line := 0
		if n, _, _ := l.resolve([]string{list, strconv.Itoa(first), "name"}); n != nil {
			line = n.Line
		}
		l.add(with(ptr, "name"), fmt.Sprintf("name %q is already used by %s[%d] (line %d)", name, list, first, line),
			"names key the state file: give every entry its own")
		return
	}
	names[name] = idx
}

// image checks one query image: an http(s) URL, or a local PNG or JPEG file
// of at most MaxImageSize, relative to the spec's directory and, unless the
// spec sets allow_outside_images, inside it (see insideDir).
func (l *loader) image(ptr []string, s string) (Image, bool) {
	if scheme, _, ok := strings.Cut(s, "://"); ok && !strings.ContainsAny(scheme, `/\`) {
		u, err := url.Parse(s)
		if err != nil {
			l.add(ptr, "is not a valid URL", "")
			return Image{}, false
		}
		if sc := strings.ToLower(u.Scheme); sc != "http" && sc != "https" {
			l.add(ptr, fmt.Sprintf("%s URLs are not supported; use an http(s) URL or a local file", quoteShort(u.Scheme)), "")
			return Image{}, false
		}
		if u.Host == "" {
			l.add(ptr, "URL has no host", "")
			return Image{}, false
		}
		return Image{URL: s}, true
	}
	p := filepath.Clean(s)
	if !filepath.IsAbs(p) {
		p = filepath.Join(l.dir, p)
	}
	if !l.outsideImages && !within(l.dir, p) {
		l.add(ptr, fmt.Sprintf("image file %s is outside the spec's directory", quoteShort(s)), outsideHint)
		return Image{}, false
	}
	fi, err := os.Stat(p)
	switch {
	case os.IsNotExist(err):
		l.add(ptr, fmt.Sprintf("image file %s does not exist", quoteShort(s)), "local image paths are relative to the spec's directory")
		return Image{}, false
	case err != nil:
		l.add(ptr, fmt.Sprintf("image file %s cannot be read: %v", quoteShort(s), unwrapPath(err)), "")
		return Image{}, false
	case !fi.Mode().IsRegular():
		if kind := filekind.Of(fi); kind != "" && !fi.IsDir() {
			l.add(ptr, fmt.Sprintf("image %s is %s, not an image file", quoteShort(s), kind), "")
		} else {
			l.add(ptr, fmt.Sprintf("image %s is not a regular file", quoteShort(s)), "")
		}
		return Image{}, false
	case fi.Size() > MaxImageSize:
		l.add(ptr, fmt.Sprintf("image file is %.1f MB; PatSnap accepts at most 4 MB", float64(fi.Size())/(1<<20)), "scale it down or recompress it")
		return Image{}, false
	case !l.outsideImages && !l.insideDir(p):
		l.add(ptr, fmt.Sprintf("image file %s is a symbolic link to a file outside the spec's directory", quoteShort(s)), outsideHint)
		return Image{}, false
	}
	// Without blocking: a named pipe swapped in since the Stat is refused
	// below instead of waiting for a writer.
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		l.add(ptr, fmt.Sprintf("image file %s cannot be read: %v", quoteShort(s), unwrapPath(err)), "")
		return Image{}, false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		l.add(ptr, fmt.Sprintf("image %s is not a regular file", quoteShort(s)), "")
		return Image{}, false
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxImageSize+1))
	if err != nil {
		l.add(ptr, fmt.Sprintf("image file %s cannot be read: %v", quoteShort(s), unwrapPath(err)), "")
		return Image{}, false
	}
	if len(data) > MaxImageSize {
		l.add(ptr, "image file is larger than 4 MB; PatSnap accepts at most 4 MB", "scale it down or recompress it")
		return Image{}, false
	}
	if !isPNG(data) && !isJPEG(data) {
		l.add(ptr, fmt.Sprintf("image file %s is not a PNG or JPEG image", quoteShort(s)), "PatSnap's image search accepts PNG and JPEG files only")
		return Image{}, false
	}
	return Image{Path: p, SHA256: digest(data)}, true
}

// digest is the hex SHA-256 digest of data.
func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// outsideHint is the hint of a local image outside the spec's directory.
const outsideHint = "local images are read from the spec's directory and below, so that a plan of a pull request's spec uploads no other file; " +
	"move the image there, or set allow_outside_images: true at the top of a spec you trust"

// insideDir reports whether the file at p, symbolic links followed, lies in
// the spec's directory (its links followed too) or below it. Local images
// are uploaded by plan, and a live plan may run on a pull request's
// content: a path that leaves the directory (by "..", as an absolute path
// elsewhere, or through a link the pull request adds) could send any file
// the runner can read.
func (l *loader) insideDir(p string) bool {
	dir, err := filepath.EvalSymlinks(l.dir)
	if err != nil {
		return false
	}
	real, err := filepath.EvalSymlinks(p)
	return err == nil && within(dir, real)
}

// within reports whether the clean path p is dir or lies below it, by
// their names alone.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// unwrapPath drops the path from an *fs.PathError, whose absolute path would
// make messages differ between machines.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func isPNG(b []byte) bool  { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) }
func isJPEG(b []byte) bool { return bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}) }

// key identifies an image by content: its URL, or its bytes' digest.
func (i Image) key() string {
	if i.Local() {
		return "sha256:" + i.SHA256
	}
	return i.URL
}

// report checks and builds reports[i].
func (l *loader) report(ptr []string, m map[string]any, names map[string]int) Report {
	r := Report{Format: "pdf", Logo: true}
	if n, _, _ := l.resolve(ptr); n != nil {
		r.Line = n.Line
	}
	r.Name, _ = m["name"].(string)
	l.unique(ptr, "reports", r.Name, names)
	l.reservedReportName(ptr, r.Name)
	_, hasNumber := m["patent_number"]
	_, hasID := m["patent_id"]
	switch {
	case hasNumber && hasID:
		l.addKey(with(ptr, "patent_id"), "set patent_number or patent_id, not both", "")
	case !hasNumber && !hasID:
		l.add(with(ptr, "patent_number"), "required field is missing", "set patent_number (e.g. CN108977442B) or patent_id")
	}
	r.PatentNumber, _ = m["patent_number"].(string)
	r.PatentID, _ = m["patent_id"].(string)
	if r.PatentNumber != "" && IsDesignNumber(r.PatentNumber) {
		l.add(with(ptr, "patent_number"), fmt.Sprintf("%s is a design patent; PatSnap's value reports do not cover design patents", r.PatentNumber),
			"remove this report; follow design patents with a search instead")
	}
	if f, ok := m["format"].(string); ok && (f == "pdf" || f == "word") {
		r.Format = f
	}
	if b, ok := m["logo"].(bool); ok {
		r.Logo = b
	}
	r.Suspend, _ = m["suspend"].(bool)
	return r
}

var (
	kindCodeRE = regexp.MustCompile(`[0-9]([A-Z][0-9]?)$`)
	usDesignRE = regexp.MustCompile(`^USD[0-9]`)
)

// IsDesignNumber reports whether a publication number names a design patent.
// The rule: the kind code (the letter, with an optional digit, after the last
// digit of the serial number) is S, as WIPO ST.16 assigns to designs and as
// CN305123456S, EU0065350760001S and USD0912345S1 show; or the number is a
// US design number (USD followed by digits) written without a kind code.
// Numbers without a recognisable kind code are not treated as designs.
func IsDesignNumber(pn string) bool {
	pn = strings.ToUpper(strings.TrimSpace(pn))
	if usDesignRE.MatchString(pn) {
		return true
	}
	m := kindCodeRE.FindStringSubmatch(pn)
	return m != nil && m[1][0] == 'S'
}

// intOf reads a whole number from a decoded YAML value.
func intOf(v any) (int, bool) {
	switch v := v.(type) {
	case int:
		return v, true
	case int64:
		if int64(int(v)) == v {
			return int(v), true
		}
	case uint64:
		if v <= 1<<31 {
			return int(v), true
		}
	case float64:
		if v == float64(int64(v)) && v >= -(1<<31) && v <= 1<<31 {
			return int(v), true
		}
	}
	return 0, false
}

func floatOf(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func intList(v any) []int {
	list, _ := v.([]any)
	var out []int
	for _, e := range list {
		if n, ok := intOf(e); ok {
			out = append(out, n)
		}
	}
	return out
}
