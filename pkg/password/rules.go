package password

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// MinLength is the fewest characters a password may have.
const MinLength = 8

// The sentences Validate returns, one per broken rule.
const (
	TooShort   = "This password is too short: use at least 8 characters."
	AllNumeric = "This password is only digits: add letters or symbols."
	TooSimilar = "This password is too similar to the username."
	TooCommon  = "This password is too commonly used: choose a less predictable one."
)

// Validate returns a sentence for each rule password breaks as the
// password of username, or nil when it is acceptable.
func Validate(password, username string) []string {
	var errs []string
	if utf8.RuneCountInString(password) < MinLength {
		errs = append(errs, TooShort)
	}
	if password != "" && strings.IndexFunc(password, notDigit) < 0 {
		errs = append(errs, AllNumeric)
	}
	if similar(strings.ToLower(password), strings.ToLower(username)) {
		errs = append(errs, TooSimilar)
	}
	if common()[strings.ToLower(password)] {
		errs = append(errs, TooCommon)
	}
	return errs
}

func notDigit(r rune) bool { return !unicode.IsDigit(r) }

// similar reports whether p is the username u, contains it as at least
// half of itself, lies inside it, or is within a few edits of it: each
// would fall early to a guesser who starts from the username.
func similar(p, u string) bool {
	if p == "" || u == "" {
		return false
	}
	a, b := []rune(p), []rune(u)
	if strings.Contains(u, p) || (strings.Contains(p, u) && 2*len(b) >= len(a)) {
		return true
	}
	short, long := min(len(a), len(b)), max(len(a), len(b))
	// The edit distance is at least the difference in length, so when
	// that alone rules similarity out the quadratic work is skipped.
	if 10*short < 7*long {
		return false
	}
	return 10*(long-distance(a, b)) >= 7*long
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

//go:embed common.txt
var commonText string

// common is the set of commonly used passwords, lower case, read from
// common.txt once on first use.
var common = sync.OnceValue(func() map[string]bool {
	set := map[string]bool{}
	for line := range strings.Lines(commonText) {
		if w := strings.TrimSpace(line); w != "" && !strings.HasPrefix(w, "#") {
			set[strings.ToLower(w)] = true
		}
	}
	return set
})
