package spec

import (
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/patwatch/patwatch/schema"
)

// document is what the loader's pipeline knows of the kind of file it
// reads, the spec or a decisions file: how messages name it, the limits
// that bound the work any input can cause, and the schema it is validated
// against. Both kinds pass through the same stages and are reported alike.
type document struct {
	noun      string // how messages name the file: "spec", "decisions file"
	maxSize   int    // bytes
	maxValues int    // values once aliases are expanded (see MaxValues)
	// wide is the top-level field whose mapping may hold any number of
	// fields (the decisions file's decisions, one per patent); "" for none.
	wide      string
	schema    func() (*jsonschema.Schema, error)
	schemaRaw func() []byte

	tooLarge, tooLargeHint string
	tooMany                string // a file of more than maxValues values, without aliases
	emptyHint              string
	splitHint              string // a second YAML document
	fields                 string // its main top-level fields, for the message of a file that is no mapping
	notMapping             string // the file is not a mapping: what it starts with
	versionHint            string // version is missing
	versionWrong           string // what to do about another version
}

// specDocument is the spec.
var specDocument = &document{
	noun:         "spec",
	maxSize:      MaxFileSize,
	maxValues:    MaxValues,
	schema:       schema.Compile,
	schemaRaw:    schema.JSON,
	tooLarge:     fmt.Sprintf("spec is larger than %d bytes (1 MiB), the most patwatch reads", MaxFileSize),
	tooLargeHint: "is this the right file? a watch list is a small YAML file",
	tooMany:      fmt.Sprintf("spec holds more than %d values; a watch list is far smaller", MaxValues),
	emptyHint:    `start the spec with "version: 1"; patwatch refuses an empty spec so that an emptied file never reads as "remove every watch"`,
	splitHint:    `remove the "---" line, or split the file into two specs`,
	fields:       "version and searches",
	notMapping:   `a spec starts with "version: 1", followed by searches: and reports: lists`,
	versionHint:  `add "version: 1" as the first line; patwatch refuses a spec without it so that an emptied or truncated file never reads as "remove every watch"`,
	versionWrong: "write version: 1, or use the patwatch release that wrote this spec",
}

// MaxDecisionsFileSize is the largest decisions file patwatch reads, in
// bytes: room for some 100,000 decisions with their notes.
const MaxDecisionsFileSize = 16 << 20

// maxDecisionValues bounds the values of a decisions file as MaxValues
// bounds a spec's: a decision with every field is about a dozen.
const maxDecisionValues = 2_000_000

// decisionsDocument is a decisions file.
var decisionsDocument = &document{
	noun:         "decisions file",
	maxSize:      MaxDecisionsFileSize,
	maxValues:    maxDecisionValues,
	wide:         "decisions",
	schema:       schema.CompileDecisions,
	schemaRaw:    schema.DecisionsJSON,
	tooLarge:     fmt.Sprintf("decisions file is larger than %d bytes (16 MiB), the most patwatch reads", MaxDecisionsFileSize),
	tooLargeHint: "is this the right file? a decisions file holds one short entry per patent",
	tooMany:      fmt.Sprintf("decisions file holds more than %d values", maxDecisionValues),
	emptyHint:    `start the decisions file with "version: 1", or delete it: a missing file means no decisions`,
	splitHint:    `remove the "---" line: a decisions file is one YAML document`,
	fields:       "version and decisions",
	notMapping:   `a decisions file starts with "version: 1", followed by decisions: keyed by patent number`,
	versionHint:  `add "version: 1" as the first line`,
	versionWrong: "write version: 1, or use the patwatch release that wrote this decisions file",
}

// wide reports whether the mapping at ptr may hold any number of fields.
func (l *loader) wide(ptr []string) bool {
	return l.doc.wide != "" && len(ptr) == 1 && ptr[0] == l.doc.wide
}
