// Package embednats runs a NATS server with JetStream inside the current
// process, for the all-in-one mode and for tests. A Server is safe for
// concurrent use; Shutdown may be called more than once.
package embednats

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Options configure an embedded server.
type Options struct {
	// Dir holds JetStream's files. Required.
	Dir string
	// Listen opens a TCP listener on Host:Port (Port -1 picks a free
	// one); without it, clients connect in-process only.
	Listen bool
	Host   string
	Port   int
	// SyncAlways makes JetStream fsync every write before acknowledging
	// it, so an acknowledged message survives a lost host, at a cost in
	// latency. Without it JetStream syncs on a timer.
	SyncAlways bool
}

// Server is a running embedded NATS server.
type Server struct {
	ns *server.Server
}

// Start starts a server and waits until it accepts clients.
func Start(o Options) (*Server, error) {
	if o.Dir == "" {
		return nil, errors.New("embedded NATS needs a directory")
	}
	opts := &server.Options{
		ServerName: "parley-embedded",
		JetStream:  true,
		StoreDir:   o.Dir,
		DontListen: !o.Listen,
		Host:       o.Host,
		Port:       o.Port,
		SyncAlways: o.SyncAlways,
		NoSigs:     true,
		NoLog:      true,
	}
	if o.Listen && opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if o.Listen && opts.Port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("creating embedded NATS: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("embedded NATS did not become ready in 10s")
	}
	return &Server{ns: ns}, nil
}

// Connect opens a client connection to the server, in-process when it
// has no listener.
func (s *Server) Connect(name string, opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.Name(name), nats.InProcessServer(s.ns)}, opts...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to embedded NATS: %w", err)
	}
	return nc, nil
}

// ClientURL is the TCP address clients in other processes use; empty
// without a listener.
func (s *Server) ClientURL() string {
	if s.ns.Addr() == nil {
		return ""
	}
	return s.ns.ClientURL()
}

// Shutdown stops the server and waits for it to finish.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}
