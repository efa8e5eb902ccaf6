package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/archive"
	"github.com/parley-chat/parley/pkg/envflag"
	"github.com/parley-chat/parley/pkg/store"
)

const deadUsage = `usage: parley dead-letters [flags] list
       parley dead-letters [flags] replay SEQ...

list shows the messages the archiver gave up on; replay stores the named
ones (by the SEQ that list shows) in history under their original ids and
removes them from the dead letters.`

// runDeadLetters is "parley dead-letters": the operator's view of the
// messages the archiver could not store.
func runDeadLetters(ctx context.Context, args []string, stdout io.Writer) error {
	var natsURL, dbURL string
	var from uint64
	var limit int
	fs := flag.NewFlagSet("parley dead-letters", flag.ContinueOnError)
	fs.StringVar(&natsURL, "nats-url", "nats://127.0.0.1:4222", "NATS servers, comma-separated")
	fs.StringVar(&dbURL, "database-url", "", "the archiver's database, for replay")
	fs.Uint64Var(&from, "from", 1, "list: first dead-letter sequence to show")
	fs.IntVar(&limit, "limit", 100, "list: most dead letters to show")
	fs.Usage = func() { fmt.Fprintln(fs.Output(), deadUsage); fs.PrintDefaults() }
	if err := envflag.Parse(fs, args, nil); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return flag.ErrHelp
	}
	nc, err := nats.Connect(natsURL, nats.Name("parley-dead-letters"))
	if err != nil {
		return fmt.Errorf("connecting to NATS at %s: %w", natsURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("opening JetStream: %w", err)
	}
	switch fs.Arg(0) {
	case "list":
		return listDead(ctx, js, from, limit, stdout)
	case "replay":
		return replayDead(ctx, js, dbURL, fs.Args()[1:], stdout)
	}
	fs.Usage()
	return flag.ErrHelp
}

func listDead(ctx context.Context, js jetstream.JetStream, from uint64, limit int, w io.Writer) error {
	dead, err := archive.DeadLetters(ctx, js, from, limit)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%-6s %-10s %-24s %-24s %s\n", "SEQ", "ID", "CHAT", "STORED", "REASON")
	for _, d := range dead {
		fmt.Fprintf(w, "%-6d %-10d %-24s %-24s %s", d.Seq, d.ID, d.Chat,
			d.At.UTC().Format(time.RFC3339), d.Reason)
		if d.Error != "" {
			fmt.Fprintf(w, ": %s", d.Error)
		}
		fmt.Fprintln(w)
	}
	return nil
}

func replayDead(ctx context.Context, js jetstream.JetStream, dbURL string, seqs []string,
	w io.Writer) error {
	if dbURL == "" {
		return errors.New("replay needs the archiver's database: PARLEY_DATABASE_URL or -database-url")
	}
	if len(seqs) == 0 {
		return errors.New("replay needs at least one SEQ from list")
	}
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("opening database: %w", err)
	}
	defer db.Close()
	var errs []error
	for _, s := range seqs {
		seq, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("SEQ %q is not a number", s))
			continue
		}
		m, err := archive.Resurrect(ctx, js, db, seq)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(w, "stored dead letter %d as message %d of chat %s\n", seq, m.ID, m.Chat)
	}
	return errors.Join(errs...)
}
