// Package envflag binds command-line flags to PARLEY_ environment variables,
// so that every setting can be given either way. A flag named "access-ttl"
// reads PARLEY_ACCESS_TTL; a flag given on the command line wins over the
// environment. It is meant to be called once from a main, before anything
// runs concurrently.
package envflag

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// Prefix is put before every environment variable name.
const Prefix = "PARLEY_"

// EnvName returns the environment variable that feeds the flag name.
func EnvName(flagName string) string {
	return Prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args into fs, then fills every flag that args did not set
// from its environment variable, using lookup (os.LookupEnv when nil).
// A bad value names the variable it came from.
func Parse(fs *flag.FlagSet, args []string, lookup func(string) (string, bool)) error {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var firstErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || firstErr != nil {
			return
		}
		name := EnvName(f.Name)
		v, ok := lookup(name)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			firstErr = fmt.Errorf("%s=%q: %w", name, v, err)
		}
	})
	return firstErr
}

// List splits a comma-separated setting into its trimmed, non-empty parts.
func List(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// Prefixes parses a comma-separated list of CIDR prefixes; a bare
// address stands for itself alone.
func Prefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range List(s) {
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("parsing address %q: %w", part, err)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("parsing prefix %q: %w", part, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
