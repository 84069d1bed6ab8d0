package drawings

import (
	"encoding/binary"
	"image"
	"image/color"
)

// costOf is how many bytes decoding an image of header cfg and thumbnailing
// it hold at most, as the standard library's decoders and scale allocate
// (measured: a progressive JPEG of three components 15 bytes a pixel, a
// baseline one at most 3, a 16-bit PNG 8 and 4 more for scale's copy, and
// the scaler 32 bytes for each pixel of the thumbnail's width by the
// image's height): what a Step weighs an image by before it decodes it.
func costOf(cfg image.Config, format string, src []byte) int64 {
	pixels := int64(cfg.Width) * int64(cfg.Height)
	var perPixel int64
	switch format {
	case PNG:
		perPixel = pngBytes(cfg.ColorModel)
		if pngInterlaced(src) {
			perPixel *= 2 // each pass is decoded on its own, then merged
		}
		perPixel += scaleCopy(cfg.ColorModel)
	case JPEG:
		perPixel = jpegBytes(cfg.ColorModel, jpegProgressive(src))
	default: // GIF: its first frame, paletted, and scale's copy
		perPixel = 1 + 4
	}
	return pixels*perPixel + scaleBuffer(cfg) + 4<<20 // and the tables, buffers and encoders
}

// scaleBuffer is the buffer of x/image/draw's scaler: four float64s for
// each pixel of the thumbnail's width by the image's height.
func scaleBuffer(cfg image.Config) int64 {
	w, h := int64(cfg.Width), int64(cfg.Height)
	if long := max(w, h); long > MaxSide {
		w = max(1, (w*MaxSide+long/2)/long)
	}
	return w * h * 32
}

// pngBytes is what a PNG decodes to, a pixel.
func pngBytes(m color.Model) int64 {
	switch m {
	case color.GrayModel:
		return 1
	case color.Gray16Model:
		return 2
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4 // RGBA, NRGBA
}

// scaleCopy is what scale holds beside a decoded image, a pixel: one copy
// as RGBA of the kinds its scaler has no fast path for, a paletted one as
// grey or RGBA.
func scaleCopy(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.RGBAModel, color.NRGBAModel:
		return 0
	}
	return 4
}

// pngInterlaced reads the interlace method of a PNG's IHDR.
func pngInterlaced(src []byte) bool {
	return len(src) > 28 && src[28] == 1
}

// jpegBytes is what a JPEG decodes to, a pixel, at most (no chroma
// subsampling): a byte a component, and in a progressive one its
// coefficients too, four bytes each; CMYK is copied to RGBA by scale.
func jpegBytes(m color.Model, progressive bool) int64 {
	components := int64(3)
	switch m {
	case color.GrayModel:
		components = 1
	case color.CMYKModel:
		components = 4
	}
	n := components
	if progressive {
		n += 4 * components
	}
	if m != color.GrayModel && m != color.YCbCrModel {
		n += 4
	}
	return n
}

// jpegProgressive reports whether a JPEG's frame header is progressive
// (SOF2, or SOF6, SOF10, SOF14), reading its markers up to the first frame
// header. Markers it cannot follow count as progressive: the dearer guess.
func jpegProgressive(src []byte) bool {
	for i := 2; i+4 <= len(src); {
		if src[i] != 0xff {
			return true
		}
		marker := src[i+1]
		switch {
		case marker == 0xff: // fill byte
			i++
			continue
		case marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc:
			return marker == 0xc2 || marker == 0xc6 || marker == 0xca || marker == 0xce
		}
		i += 2 + int(binary.BigEndian.Uint16(src[i+2:]))
	}
	return true
}
