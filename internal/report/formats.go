package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats a change report renders to: the values of plan's, apply's and
// watch's --format.
const (
	FormatText     = "text"
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
	FormatHTML     = "html" // the self-contained HTML page
)

// A renderer writes a change report to buf. indent indents JSON ("": one
// line); the other formats have one layout and ignore it.
type renderer func(buf *bytes.Buffer, c *ChangeReport, indent string) error

// formats is every change report format, in the order help and completion
// list them. Adding a format is a renderer file and its row here: Render,
// RenderStream and --format (through Formats) read this table and nothing
// else.
var formats = []struct {
	name   string
	render renderer
}{
	{FormatText, infallible(renderText)},
	{FormatJSON, renderJSON},
	{FormatMarkdown, infallible(renderMarkdownReport)},
	// The page is RenderHTML's: a caller that has the drawings and the
	// report files' links calls it with a Page; here it has none of them.
	{FormatHTML, renderPage},
}

// Formats are the names of the change report formats, in the order help
// and completion list them.
func Formats() []string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.name
	}
	return names
}

// Render writes the change report in format: text for a terminal, markdown
// for a pull-request comment or an artifact, json (indented) for programs,
// html as a page without the drawings (RenderHTML adds them).
func Render(w io.Writer, c *ChangeReport, format string) error {
	var buf bytes.Buffer
	if err := render(&buf, c, format, "  "); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// RenderStream writes the change report as one of a stream of them, as
// watch mode prints one per run: json on one line (JSON Lines), every
// other format followed by a blank line.
func RenderStream(w io.Writer, c *ChangeReport, format string) error {
	var buf bytes.Buffer
	if err := render(&buf, c, format, ""); err != nil {
		return err
	}
	if format != FormatJSON {
		buf.WriteString("\n")
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// render writes c in format to buf; indent indents JSON ("": one line).
func render(buf *bytes.Buffer, c *ChangeReport, format, indent string) error {
	for _, f := range formats {
		if f.name == format {
			return f.render(buf, c, indent)
		}
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
}

// infallible makes a renderer of a function that cannot fail and has one
// layout.
func infallible(write func(*bytes.Buffer, *ChangeReport)) renderer {
	return func(buf *bytes.Buffer, c *ChangeReport, _ string) error {
		write(buf, c)
		return nil
	}
}

// renderJSON writes c as the JSON change report (README.md, "Change
// reports"), HTML characters unescaped.
func renderJSON(buf *bytes.Buffer, c *ChangeReport, indent string) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	return enc.Encode(c)
}

// renderMarkdownReport writes c in markdown: a plan as a pull-request
// comment led by its PlanLine, any other run as its tables.
func renderMarkdownReport(buf *bytes.Buffer, c *ChangeReport) {
	if c.Command == "plan" {
		renderMarkdownPlan(buf, c)
		return
	}
	renderMarkdown(buf, c)
}

// renderPage writes c as the HTML page without a Page: no drawing, query
// image or link to a report file.
func renderPage(buf *bytes.Buffer, c *ChangeReport, _ string) error {
	return RenderHTML(buf, c, nil)
}
