package spec

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// v1FilterLines sets every filter fingerprint version 1 knows, one YAML line
// each, in the schema's order.
var v1FilterLines = []struct{ name, line string }{
	{"country", `country: [US, EU, CN]`},
	{"loc", `loc: "(14-03 OR 14-02)"`},
	{"legal_status", `legal_status: [3, 2]`},
	{"simple_legal_status", `simple_legal_status: [1, 2]`},
	{"apply_start_time", `apply_start_time: "20100101"`},
	{"apply_end_time", `apply_end_time: "20200101"`},
	{"public_start_time", `public_start_time: "20110101"`},
	{"public_end_time", `public_end_time: "20210101"`},
	{"assignees", `assignees: huawei`},
	{"main_field", `main_field: "(phones or 手机)"`},
	{"lang", `lang: en`},
	{"field", `field: SCORE`},
	{"order", `order: desc`},
	{"stemming", `stemming: 1`},
	{"pre_filter", `pre_filter: 0`},
}

// fixedSpec is one search of the fixed-hash table.
type fixedSpec struct {
	head    string   // the search's lines before filters
	filters []string // filter lines
	tail    string   // lines after filters
}

func (f fixedSpec) yaml() string {
	var b strings.Builder
	b.WriteString("version: 1\nsearches:\n  - name: s\n")
	b.WriteString(f.head)
	switch {
	case f.filters == nil:
	case len(f.filters) == 0:
		b.WriteString("    filters: {}\n")
	default:
		b.WriteString("    filters:\n")
		for _, l := range f.filters {
			b.WriteString("      " + l + "\n")
		}
	}
	b.WriteString(f.tail)
	return b.String()
}

// fixedSpecs returns the table: every v1 filter set, none, each one left
// out, each one alone, and variations of the rest of the query.
func fixedSpecs() map[string]fixedSpec {
	const head = "    image: https://example.com/a.png\n    patent_type: D\n    model: 1\n"
	var all []string
	for _, f := range v1FilterLines {
		all = append(all, f.line)
	}
	specs := map[string]fixedSpec{
		"all filters":   {head: head, filters: all},
		"no filters":    {head: head},
		"empty filters": {head: head, filters: []string{}, tail: ""},
		"empty lists":   {head: head, filters: []string{"country: []", "legal_status: []", "simple_legal_status: []"}},
		"all filters, every other field": {head: "    images: [a.png, https://example.com/b.png, c.jpg]\n    patent_type: D\n    model: 2\n",
			filters: all, tail: "    max_results: 1100\n    min_score: 0.123456789\n    drop_after: 3\n"},
		"utility model":  {head: "    image: c.jpg\n    patent_type: U\n    model: 4\n", tail: "    max_results: 7\n"},
		"model 1 images": {head: "    images: [https://example.com/b.png, a.png]\n    patent_type: D\n    model: 1\n", tail: "    min_score: 0.5\n"},
		"escaped text":   {head: head, filters: []string{`assignees: "a<b>&c \"q\" \\ é"`, `main_field: "\u2028"`, `loc: "14-03 AND NOT 14-02"`}},
		"sets unordered": {head: head, filters: []string{"country: [JP, CN, CN, US]", "legal_status: [225, 1, 3, 1]", "simple_legal_status: [999, 0]"}},
		"stemming 0":     {head: head, filters: []string{"stemming: 0", "pre_filter: 1"}},
		"date ranking":   {head: head, filters: []string{"field: APD", "order: asc"}},
	}
	for i, f := range v1FilterLines {
		specs["only "+f.name] = fixedSpec{head: head, filters: []string{f.line}}
		without := append(append([]string{}, all[:i]...), all[i+1:]...)
		specs["all but "+f.name] = fixedSpec{head: head, filters: without}
	}
	return specs
}

// v1Fingerprints are the fingerprints of fixedSpecs as patwatch computed
// them before filters were defined once (commit 97de74e). They must never
// change: a changed fingerprint rebaselines every user's search.
var v1Fingerprints = map[string]string{
	"all but apply_end_time":         "sha256:982e23428e7a14b6859f58c6151afd3b2c689b4aa0de76fdd97cad659fab33aa",
	"all but apply_start_time":       "sha256:72cade27b09ea2f0695eebe3fcabb4f0c32692ec44d3506f953a607f986b7cfe",
	"all but assignees":              "sha256:927a2752b7c7af2af4252193f9041e9321a30732f2ee8b5313b6cfe7b80cf43c",
	"all but country":                "sha256:9566b7c24de05051dab80346671d086476f3199cc11fd4bada99cde8705810fa",
	"all but field":                  "sha256:f93433b8c462630c1cacaa47cb1f0b5f74484048ef7975dc822b389f9e14e2fb",
	"all but lang":                   "sha256:6454ae2f819d6d6592460632a5b1b4ade14565f5f34b48acccbb3332cb928aa6",
	"all but legal_status":           "sha256:77ed826aac0f2d2991177c6ee53b4186d918961762af427b9814b72278de467b",
	"all but loc":                    "sha256:85af37975698c0b606c9fbaf837bf779351f3ffb8131a4ee4a4c1c25130b062d",
	"all but main_field":             "sha256:02d72b6485752d304b55568b791d571091d228da4c2e17491d99dba03fd8a944",
	"all but order":                  "sha256:13a486f4dc3f218c0ddf3aa823df968f1389399adaa5b1f64cd6a04ee8df36cd",
	"all but pre_filter":             "sha256:4660b81c5d270e6c6fbceffb5e4861807a2323dfe5db93266f818ab76d0adcaa",
	"all but public_end_time":        "sha256:09eaabfa44b4a038e2d9dfa18d6dc20b4dbac692a6d296a857906fa6ab6e227f",
	"all but public_start_time":      "sha256:b6612238a0ed0e7e18dba6e2369918f546520928e7f4cd36c8c85756b8912a66",
	"all but simple_legal_status":    "sha256:d2b0879e97fda811bba1de29b1f0f6ad51667ec4a34a58ce1908d6c5455a1752",
	"all but stemming":               "sha256:8c4409610d16d178aaeb8d26171402e3cf0a005abbff114420c0a9a4f2a21f72",
	"all filters":                    "sha256:85fd4c1a5d812831815b888164122b3324f4f99f84b89ce43dec8e868fb16072",
	"all filters, every other field": "sha256:8a192bb80a0e6cc279ecf896aa2c74513b81b9f1c56470460e6688da21d0d22d",
	"date ranking":                   "sha256:c88a4599499e2179955b2ea464b1d9bbce757b792e0676248fd06cd85aa8235c",
	"empty filters":                  "sha256:9bcbee894af068525d0cb66509a84483a7f94bfa5772d63911a90eb53fdfd60c",
	"empty lists":                    "sha256:9bcbee894af068525d0cb66509a84483a7f94bfa5772d63911a90eb53fdfd60c",
	"escaped text":                   "sha256:af6aaed1043aae1a96479c470566b0075bc32f63abb0218b5cbe9b78f0f5acdb",
	"model 1 images":                 "sha256:56c8619cc5b5edd0387618ffd1aaa378ab4990d2cae0c9ed8038c80088dff3fe",
	"no filters":                     "sha256:9bcbee894af068525d0cb66509a84483a7f94bfa5772d63911a90eb53fdfd60c",
	"only apply_end_time":            "sha256:bf22d4da48f2b8639273c1a479784ec26595a8c075ae5042458a94a5ac03086e",
	"only apply_start_time":          "sha256:96d2eb8d731af5a289ad83c415730eb32c22a74e7fc3bbb58f71ea646c021711",
	"only assignees":                 "sha256:e11c670d31e3b09165310b424a9333e8e2966b2da185b5eb66eda0ee154a8fa1",
	"only country":                   "sha256:b38ff186f9105a3afaccd92f47fbc2a6d04fd9e5022af647232d3e36a0abc37f",
	"only field":                     "sha256:86123d88dc37e334f7bdae6166290a0ca8e311dce9958e9f5adfc1b458dd131a",
	"only lang":                      "sha256:67424b7771304910ea49d6230351aec56d261880ffd28447645a7ce031b95aa2",
	"only legal_status":              "sha256:ea1bf6b90033987981c2e91e0faa5c901e74e8a3e231b9a105756a04cb0da60e",
	"only loc":                       "sha256:5de6abc1e3cc0f3b1064fdcf05678a4e45aa48ccc243a77c1cd77e896a0f348d",
	"only main_field":                "sha256:bf572bab51f92c023abd5102bdef648d830a42dfa99aef22a7fb8810ed20f238",
	"only order":                     "sha256:491d92054c01fb587372f813d98a7f736bacfc8eff35ca780ea59fed5e1d1526",
	"only pre_filter":                "sha256:6c83da8ca1a4cc9ed666c48f95c5c72391abd095563a9be7c5f692e74c7fd22f",
	"only public_end_time":           "sha256:9845bea88221e278a1e045fb7ea3d13982590d0cc769f819c52378c18d21b87b",
	"only public_start_time":         "sha256:c8be8a84b3b0537dbf01ba63554d46045602945f98baf23fc634364894c49ae5",
	"only simple_legal_status":       "sha256:cc54843146bf4c06b60e990a452921be75f834aec39880e50debe1ed34aca0b6",
	"only stemming":                  "sha256:24a1d9cb7ca9b50cd86599c3e72e68445df5058d9385c75ee659619b07262ee9",
	"sets unordered":                 "sha256:9aac60980627aa4410b3347047bb51e9d8c665f40453cea7c8f92a11ee21bb96",
	"stemming 0":                     "sha256:c1b21f538ec57012cb21ad6fcef0b0408376f573032d9401595f6420d494958d",
	"utility model":                  "sha256:21d4ea2a2781c730bfb1c81ab9268e0621b5965133ac05e33294058adcf10218",
}

func TestFingerprintFixed(t *testing.T) {
	files := map[string][]byte{"a.png": pngBytes, "c.jpg": jpegBytes}
	specs := fixedSpecs()
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	sort.Strings(names)
	var gen strings.Builder // the table as Go source, for a failure message
	for _, name := range names {
		got := fingerprints(t, specs[name].yaml(), files)["s"]
		fmt.Fprintf(&gen, "\t%q: %q,\n", name, got)
		if want, ok := v1Fingerprints[name]; !ok || got != want {
			t.Errorf("%s: fingerprint %s, want %s", name, got, want)
		}
	}
	if t.Failed() {
		t.Logf("computed:\n%s", gen.String())
	}
}
