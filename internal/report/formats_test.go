package report

import (
	"bytes"
	"slices"
	"testing"
)

// TestFormatsRender holds the formats table to its claim: a format is its
// row, so every name --format offers renders a change report, in full and
// as one of watch's stream. A row without a working renderer fails here.
func TestFormatsRender(t *testing.T) {
	for _, format := range Formats() {
		for _, command := range []string{"plan", "apply"} {
			var doc, stream bytes.Buffer
			if err := Render(&doc, sampleReport(command), format); err != nil {
				t.Errorf("%s of %s: %v", format, command, err)
			}
			if doc.Len() == 0 {
				t.Errorf("%s of %s: nothing rendered", format, command)
			}
			if err := RenderStream(&stream, sampleReport(command), format); err != nil {
				t.Errorf("%s of %s, streamed: %v", format, command, err)
			}
			if stream.Len() == 0 {
				t.Errorf("%s of %s, streamed: nothing rendered", format, command)
			}
		}
	}
}

// TestFormatsOrder: help and completion list the formats in this order, and
// their golden files say so.
func TestFormatsOrder(t *testing.T) {
	want := []string{FormatText, FormatJSON, FormatMarkdown, FormatHTML}
	if got := Formats(); !slices.Equal(got, want) {
		t.Errorf("Formats() = %q, want %q", got, want)
	}
}

// TestFormatHTMLIsThePage: the html row is RenderHTML's page, without the
// drawings a Page would add.
func TestFormatHTMLIsThePage(t *testing.T) {
	var got, want bytes.Buffer
	if err := Render(&got, sampleReport("apply"), FormatHTML); err != nil {
		t.Fatal(err)
	}
	if err := RenderHTML(&want, sampleReport("apply"), nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Error("Render in html is not RenderHTML's page")
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	err := Render(&bytes.Buffer{}, sampleReport("apply"), "yaml")
	if err == nil {
		t.Fatal("an unknown format rendered")
	}
	if want := `unknown format "yaml" (want one of text, json, markdown, html)`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}
