package docs

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// table is a Markdown table: its header cells and its rows of cells.
type table struct {
	header []string
	rows   [][]string
}

// section returns the lines of doc under the level-two heading title, up
// to the next level-two heading.
func section(doc, title string) string {
	var b strings.Builder
	in := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "## ") {
			in = strings.TrimSpace(line[3:]) == title
			continue
		}
		if in {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// tables returns the Markdown tables of text, in order.
func tables(text string) []table {
	var out []table
	var cur *table
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			cur = nil
			continue
		}
		cells := splitRow(line)
		switch {
		case cur == nil:
			out = append(out, table{header: cells})
			cur = &out[len(out)-1]
		case isRule(cells):
		default:
			cur.rows = append(cur.rows, cells)
		}
	}
	return out
}

// splitRow splits "| a | b |" into trimmed cells.
func splitRow(line string) []string {
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	cells := strings.Split(line, "|")
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
}

// isRule reports whether cells are the "|---|---|" line under a header.
func isRule(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(c, "-: ") != "" {
			return false
		}
	}
	return true
}

// tableWith returns the first table whose header is exactly header.
func tableWith(ts []table, header ...string) (table, bool) {
	for _, tb := range ts {
		if reflect.DeepEqual(tb.header, header) {
			return tb, true
		}
	}
	return table{}, false
}

var codeSpan = regexp.MustCompile("`([^`]*)`")

// codeSpans returns the text of every `code span` of s.
func codeSpans(s string) []string {
	var out []string
	for _, m := range codeSpan.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestMarkdownTables(t *testing.T) {
	doc := "# T\n\n## A\n\n| x | y |\n|---|---|\n| `1` | a, b |\n\ntext\n\n| z |\n|:-:|\n| 2 |\n" +
		"## B\n\n| x | y |\n|---|---|\n| 3 | c |\n"
	ts := tables(section(doc, "A"))
	want := []table{
		{header: []string{"x", "y"}, rows: [][]string{{"`1`", "a, b"}}},
		{header: []string{"z"}, rows: [][]string{{"2"}}},
	}
	if !reflect.DeepEqual(ts, want) {
		t.Fatalf("tables = %q, want %q", ts, want)
	}
	if _, ok := tableWith(ts, "z"); !ok {
		t.Error("tableWith did not find the table headed z")
	}
	if got := codeSpans("a `b` c `d e`"); !reflect.DeepEqual(got, []string{"b", "d e"}) {
		t.Errorf("codeSpans = %q", got)
	}
}
