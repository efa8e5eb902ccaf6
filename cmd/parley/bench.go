package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/parley-chat/parley/pkg/checker"
	"github.com/parley-chat/parley/pkg/envflag"
	"github.com/parley-chat/parley/pkg/loadgen"
	"github.com/parley-chat/parley/pkg/logging"
)

// errCheckFailed makes "parley bench" exit non-zero when the checker
// found a message lost, duplicated or out of order.
var errCheckFailed = errors.New("the checker found defects")

// runBench is "parley bench": the load generator and the checker against
// a running Parley.
func runBench(ctx context.Context, args []string, stdout io.Writer) error {
	var cfg loadgen.Config
	var edges, jsonOut, logLevel string
	fs := flag.NewFlagSet("parley bench", flag.ContinueOnError)
	fs.StringVar(&cfg.AuthURL, "auth-url", "http://127.0.0.1:8000", "base URL of the auth service")
	fs.StringVar(&cfg.APIURL, "api-url", "http://127.0.0.1:8000", "base URL of the archiver's /api/")
	fs.StringVar(&edges, "edges", "http://127.0.0.1:8000", "base URLs of the edges, comma-separated")
	fs.IntVar(&cfg.Chats, "chats", 20, "chats to create")
	fs.IntVar(&cfg.Members, "members", 10, "members of each chat, one socket each")
	fs.Float64Var(&cfg.Rate, "rate", 200, "offered messages per second, over all senders")
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "how long to send")
	fs.DurationVar(&cfg.Settle, "settle", 30*time.Second,
		"how long to wait for outstanding acks and deliveries")
	fs.StringVar(&jsonOut, "json", "",
		"also write the figures and the checker's counts as JSON to this file (- for stdout)")
	fs.StringVar(&logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	if err := envflag.Parse(fs, args, nil); err != nil {
		return err
	}
	cfg.EdgeURLs = envflag.List(edges)
	log, err := logging.New(os.Stderr, "text", logLevel)
	if err != nil {
		return err
	}
	cfg.Log = log

	res, err := loadgen.Execute(ctx, cfg)
	if err != nil {
		return err
	}
	report := checker.Check(res.Input)
	fmt.Fprint(stdout, res.String(), report.String())
	if err := writeJSON(jsonOut, stdout, res, report); err != nil {
		return err
	}
	if !report.OK() {
		return errCheckFailed
	}
	return nil
}

// benchJSON is the machine-readable form of a run.
type benchJSON struct {
	Bench *loadgen.Result `json:"bench"`
	Check checkJSON       `json:"check"`
}

type checkJSON struct {
	Sends      int            `json:"sends"`
	Acked      int            `json:"acked"`
	Unacked    int            `json:"unacked"`
	Lost       int            `json:"lost"`
	Duplicated int            `json:"duplicated"`
	OutOfOrder int            `json:"out_of_order"`
	Received   checker.Counts `json:"delivered"`
	History    checker.Counts `json:"history"`
}

func writeJSON(path string, stdout io.Writer, res *loadgen.Result, r checker.Report) error {
	if path == "" {
		return nil
	}
	data, err := json.MarshalIndent(benchJSON{Bench: res, Check: checkJSON{
		Sends: r.Sends, Acked: r.Acked, Unacked: r.Unacked, Lost: r.Lost(),
		Duplicated: r.Duplicated(), OutOfOrder: r.OutOfOrder(),
		Received: r.Received, History: r.History,
	}}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the results: %w", err)
	}
	data = append(data, '\n')
	if path == "-" {
		_, err = stdout.Write(data)
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
