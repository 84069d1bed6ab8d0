// Package drawings keeps the pictures an HTML report shows: thumbnails of
// the drawings of hits, fetched from their presigned image links while
// those still work, and of the searches' query images. Thumbnails are at
// most MaxSide pixels on their long side and content-addressed (named by
// the SHA-256 of their bytes); an Index records which hit and which query
// has which thumbnail. FileStore keeps both in a directory of their own,
// never in the state file itself.
//
// Step is the whole feature as a run sees it: the step of an apply that
// fetches and keeps drawings, and the pictures of a run's page, a plan's
// page and the e-mails' pages; Gallery is show's page. The runner declares
// the interface it uses (runner.Drawings) and knows nothing else of them.
package drawings

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

	// GIF drawings decode too; thumbnails are always PNG or JPEG.
	_ "image/gif"

	"golang.org/x/image/draw"
)

// MaxSide is the longest side of a thumbnail, in pixels.
const MaxSide = 320

// maxPixels refuses images whose header announces more pixels than a
// drawing has (a decompression bomb would make decoding allocate gigabytes).
const maxPixels = 40_000_000

// DecodeBudget is the memory, in bytes, that decoding images may hold at
// once. The Go decoders hold a whole image at full size, and more: a
// progressive JPEG 15 bytes a pixel, a 16-bit PNG 8 and 4 more to scale
// it, so that a 6,320 × 6,320 image of a few hundred KB on the wire needs
// half a gigabyte. Each image's need is known from its header before it is
// decoded (costOf); one that needs more than the whole budget is refused
// (ErrTooLarge), and a Step decodes the others only while their needs fit
// in the budget together: large ones one at a time.
const DecodeBudget = 256 << 20

// ErrTooLarge is matched by the error of an image whose decoding would
// need more memory than DecodeBudget.
var ErrTooLarge = errors.New("too large")

// keepUnder is the size below which a PNG or JPEG that is already no
// larger than a thumbnail is kept as it came, once it has decoded: scaling
// and encoding it again would only cost time.
const keepUnder = 96 << 10

// jpegWhenPNGOver is the PNG size above which a thumbnail is also encoded as
// JPEG and the smaller kept: line drawings are far smaller as PNG, photos
// and shaded renderings as JPEG.
const jpegWhenPNGOver = 48 << 10

// Formats of thumbnails.
const (
	PNG  = "png"
	JPEG = "jpeg"
)

// Ref names a thumbnail: the hex SHA-256 of its bytes and its format.
type Ref struct {
	SHA256 string `json:"sha256"`
	Format string `json:"format"` // PNG or JPEG
}

// IsZero reports whether r names no thumbnail.
func (r Ref) IsZero() bool { return r.SHA256 == "" }

// MediaType is r's MIME type.
func (r Ref) MediaType() string { return "image/" + r.Format }

// valid reports whether r can name a stored thumbnail: a full hex digest
// and a known format. Everything that builds a file name from a Ref checks
// it first, so that an index edited by hand cannot name a path.
func (r Ref) valid() bool {
	if len(r.SHA256) != 64 || (r.Format != PNG && r.Format != JPEG) {
		return false
	}
	for _, c := range r.SHA256 {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Thumb is a thumbnail and its bytes.
type Thumb struct {
	Ref
	Width, Height int
	Data          []byte
}

// ErrNotImage is matched by the error of a thumbnail made of bytes that do
// not decode as a PNG, JPEG or GIF image, or whose header announces more
// than 40 million pixels.
var ErrNotImage = errors.New("not an image")

// header is what an image's header says of it.
type header struct {
	cfg    image.Config
	format string
	cost   int64 // the bytes decoding and scaling it hold at most
}

// inspect reads src's header and refuses, before anything is decoded, an
// image that is none (ErrNotImage) or whose decoding would need more than
// DecodeBudget (ErrTooLarge).
func inspect(src []byte) (header, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(src))
	if err != nil {
		return header{}, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
		return header{}, fmt.Errorf("%w: %s of %d×%d pixels", ErrNotImage, format, cfg.Width, cfg.Height)
	}
	h := header{cfg: cfg, format: format, cost: costOf(cfg, format, src)}
	if h.cost > DecodeBudget {
		return header{}, fmt.Errorf("%w: a %s of %d×%d pixels needs %d MB to decode, more than the %d MB drawings may use",
			ErrTooLarge, format, cfg.Width, cfg.Height, h.cost>>20, DecodeBudget>>20)
	}
	return h, nil
}

// make decodes src, whose header h is (PNG, JPEG or GIF), scales it down
// to at most MaxSide pixels on its long side and encodes the result: PNG,
// or JPEG when that is smaller for an opaque picture whose PNG is large. A
// drawing whose pixels are all grey is kept in grey, a quarter of the
// size. A PNG or JPEG of thumbnail size (and under 96 KB) is kept as it
// is, once it decoded in full. Equal input gives equal bytes.
func (h header) make(src []byte) (Thumb, error) {
	format := h.format
	img, _, err := image.Decode(bytes.NewReader(src))
	if err != nil {
		return Thumb{}, fmt.Errorf("%w: %s: %v", ErrNotImage, format, err)
	}
	if b := img.Bounds(); max(b.Dx(), b.Dy()) <= MaxSide && (format == PNG || format == JPEG) && len(src) < keepUnder {
		return Thumb{Ref: Ref{SHA256: digest(src), Format: format}, Width: b.Dx(), Height: b.Dy(), Data: src}, nil
	}
	small := scale(img)
	out, opaque := flatten(small)

	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(&buf, out); err != nil {
		return Thumb{}, fmt.Errorf("encode thumbnail: %w", err)
	}
	data, kind := buf.Bytes(), PNG
	if opaque && (len(data) > jpegWhenPNGOver || format == "jpeg") {
		var jbuf bytes.Buffer
		if err := jpeg.Encode(&jbuf, out, &jpeg.Options{Quality: 85}); err != nil {
			return Thumb{}, fmt.Errorf("encode thumbnail: %w", err)
		}
		if jbuf.Len() < len(data) {
			data, kind = jbuf.Bytes(), JPEG
		}
	}
	b := out.Bounds()
	return Thumb{Ref: Ref{SHA256: digest(data), Format: kind}, Width: b.Dx(), Height: b.Dy(), Data: data}, nil
}

// scale returns img at most MaxSide on its long side, keeping its aspect
// ratio, as an RGBA image. The bilinear kernel of x/image/draw widens with
// the reduction, so every source pixel counts and the thin lines of a
// patent drawing turn grey rather than vanish; unlike Catmull-Rom it adds no
// light halo beside a line, and it is twice as fast.
func scale(img image.Image) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if long := max(w, h); long > MaxSide {
		w = max(1, (w*MaxSide+long/2)/long)
		h = max(1, (h*MaxSide+long/2)/long)
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if w == b.Dx() && h == b.Dy() {
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
		return dst
	}
	switch src := img.(type) {
	case *image.RGBA, *image.NRGBA, *image.Gray, *image.YCbCr:
		// The scaler has fast paths for these.
	case *image.Paletted:
		img = unpalette(src)
	default: // 16-bit PNGs, CMYK JPEGs: one pass to RGBA first
		rgba := image.NewRGBA(b)
		draw.Draw(rgba, b, img, b.Min, draw.Src)
		img = rgba
	}
	draw.BiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// unpalette converts a paletted image (most PNG line drawings are one) to
// grey when its palette is opaque greys, else to RGBA, by table lookup.
func unpalette(p *image.Paletted) image.Image {
	grey := true
	lut := make([][4]uint8, len(p.Palette))
	for i, c := range p.Palette {
		r, g, b, a := c.RGBA()
		lut[i] = [4]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
		grey = grey && r == g && g == b && a == 0xffff
	}
	b := p.Bounds()
	if grey {
		out := image.NewGray(b)
		for y := 0; y < b.Dy(); y++ {
			src, dst := p.Pix[y*p.Stride:y*p.Stride+b.Dx()], out.Pix[y*out.Stride:y*out.Stride+b.Dx()]
			for x, i := range src {
				if int(i) < len(lut) {
					dst[x] = lut[i][0]
				}
			}
		}
		return out
	}
	out := image.NewRGBA(b)
	for y := 0; y < b.Dy(); y++ {
		src, dst := p.Pix[y*p.Stride:y*p.Stride+b.Dx()], out.Pix[y*out.Stride:y*out.Stride+4*b.Dx()]
		for x, i := range src {
			if int(i) < len(lut) {
				copy(dst[4*x:4*x+4], lut[i][:])
			}
		}
	}
	return out
}

// flatten returns img as a grey image when every pixel is an opaque grey,
// and whether img is opaque.
func flatten(img *image.RGBA) (image.Image, bool) {
	opaque, grey := true, true
	for i := 0; i < len(img.Pix); i += 4 {
		r, g, b, a := img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3]
		if a != 0xff {
			opaque, grey = false, false
			break
		}
		if r != g || g != b {
			grey = false
		}
	}
	if !grey {
		return img, opaque
	}
	g := image.NewGray(img.Bounds())
	for i, j := 0, 0; i < len(img.Pix); i, j = i+4, j+1 {
		g.Pix[j] = img.Pix[i]
	}
	return g, true
}

// Verify decodes data fully as the image format of ref and checks its
// digest: what an HTML page embeds must be exactly the thumbnail recorded,
// and an image.
func Verify(ref Ref, data []byte) (width, height int, err error) {
	if digest(data) != ref.SHA256 {
		return 0, 0, errors.New("content does not match its digest")
	}
	var img image.Image
	switch ref.Format {
	case PNG:
		img, err = png.Decode(bytes.NewReader(data))
	case JPEG:
		img, err = jpeg.Decode(bytes.NewReader(data))
	default:
		return 0, 0, fmt.Errorf("unknown format %q", ref.Format)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	b := img.Bounds()
	if b.Dx() > MaxSide || b.Dy() > MaxSide || b.Empty() {
		return 0, 0, fmt.Errorf("%d×%d pixels is not a thumbnail", b.Dx(), b.Dy())
	}
	return b.Dx(), b.Dy(), nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
