// Package natstest gives a test its own embedded NATS server with
// JetStream, stopped when the test ends, so that tests never share a
// stream. Only tests import it.
package natstest

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-chat/parley/pkg/embednats"
)

// Start runs a server whose JetStream files live in a temporary folder.
func Start(t testing.TB) *embednats.Server {
	t.Helper()
	srv, err := embednats.Start(embednats.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// Connect opens a connection named name to srv, closed when the test
// ends, and its JetStream context.
func Connect(t testing.TB, srv *embednats.Server, name string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := srv.Connect(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// JetStream starts a server and connects to it.
func JetStream(t testing.TB, name string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	return Connect(t, Start(t), name)
}
