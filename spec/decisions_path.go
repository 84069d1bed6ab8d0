package spec

import (
	"os"
	"strings"
)

// DecisionsPath is the decisions file of the spec file at path, beside it:
// patwatch.yaml's is patwatch.decisions.yaml (likewise .yml), any other
// name's that name plus .decisions.yaml. A saved plan records its digest,
// and fmt formats it.
func DecisionsPath(path string) string {
	for _, ext := range []string{".yaml", ".yml"} {
		if base, ok := strings.CutSuffix(path, ext); ok && base != "" && !os.IsPathSeparator(base[len(base)-1]) {
			return base + ".decisions" + ext
		}
	}
	return path + ".decisions.yaml"
}
