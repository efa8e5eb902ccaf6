package loadgen

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/parley-chat/parley/pkg/checker"
	"github.com/parley-chat/parley/pkg/wire"
)

// recorder collects what the sockets see. It is safe for concurrent use.
type recorder struct {
	mu         sync.Mutex
	sends      map[string]*sendRec // by client_id
	order      []string            // client_ids in the order they were planned
	streams    map[streamKey]*streamRec
	from       map[string]int64 // per chat, the newest id before the run
	ackedIDs   map[string]map[int64]bool
	ackLat     []time.Duration
	deliverLat []time.Duration
	ackedN     int
	deliveries int
	reconnects int
	errors     map[string]int
}

type sendRec struct {
	chat string
	user int64
	at   time.Time // when it was due to be sent
	ids  []int64
}

type streamKey struct {
	user int64
	chat string
}

type streamRec struct {
	s    checker.Stream
	seen map[int64]bool
}

func newRecorder() *recorder {
	return &recorder{
		sends:    map[string]*sendRec{},
		streams:  map[streamKey]*streamRec{},
		from:     map[string]int64{},
		ackedIDs: map[string]map[int64]bool{},
		errors:   map[string]int{},
	}
}

func (r *recorder) planned(chat string, user int64, clientID string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sends[clientID] = &sendRec{chat: chat, user: user, at: at}
	r.order = append(r.order, clientID)
}

// acked notes an ack; a second ack with another id is kept for the
// checker, which counts it as a message stored twice.
func (r *recorder) acked(clientID string, id int64, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sends[clientID]
	if s == nil || slices.Contains(s.ids, id) {
		return
	}
	if len(s.ids) == 0 {
		r.ackedN++
		r.ackLat = append(r.ackLat, now.Sub(s.at))
	}
	s.ids = append(s.ids, id)
	if r.ackedIDs[s.chat] == nil {
		r.ackedIDs[s.chat] = map[int64]bool{}
	}
	r.ackedIDs[s.chat][id] = true
}

func (r *recorder) delivered(to int64, chat string, id, from int64, clientID string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stream(to, chat)
	st.s.Msgs = append(st.s.Msgs, checker.Msg{ID: id, User: from, ClientID: clientID})
	st.seen[id] = true
	r.deliveries++
	if s := r.sends[clientID]; s != nil && s.user == from {
		r.deliverLat = append(r.deliverLat, now.Sub(s.at))
	}
}

// subscribed notes the newest id a member's first subscription saw.
func (r *recorder) subscribed(user int64, chat string, last int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stream(user, chat).s.From = last
	if f, ok := r.from[chat]; !ok || last < f {
		r.from[chat] = last
	}
}

// stream returns a member's record of a chat; the caller holds mu.
func (r *recorder) stream(user int64, chat string) *streamRec {
	k := streamKey{user, chat}
	st := r.streams[k]
	if st == nil {
		st = &streamRec{s: checker.Stream{User: user, Chat: chat}, seen: map[int64]bool{}}
		r.streams[k] = st
	}
	return st
}

func (r *recorder) failed(code string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors[code]++
}

func (r *recorder) reconnected() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reconnects++
}

func (r *recorder) ackedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ackedN
}

func (r *recorder) reconnectCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reconnects
}

func (r *recorder) refusalCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, v := range r.errors {
		n += v
	}
	return n
}

func (r *recorder) fromOf(chat string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.from[chat]
}

// complete reports whether every send is acknowledged and every member
// in expect has as many messages of its chat as were acknowledged there.
func (r *recorder) complete(expect map[string][]int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ackedN < len(r.sends) {
		return false
	}
	for chat, members := range expect {
		for _, u := range members {
			st := r.streams[streamKey{u, chat}]
			if st == nil || len(st.seen) < len(r.ackedIDs[chat]) {
				return false
			}
		}
	}
	return true
}

// fill copies the counts and latencies into res.
func (r *recorder) fill(res *Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res.Sent = len(r.sends)
	res.Acked = r.ackedN
	res.Deliveries = r.deliveries
	res.Reconnects = r.reconnects
	res.Errors = map[string]int{}
	for k, v := range r.errors {
		res.Errors[k] = v
	}
	res.AckLatency = percentiles(r.ackLat)
	res.Delivery = percentiles(r.deliverLat)
}

// input builds the checker's input from the record and the histories.
func (r *recorder) input(hist map[string][]wire.Message) checker.Input {
	r.mu.Lock()
	defer r.mu.Unlock()
	var in checker.Input
	for _, cid := range r.order {
		s := r.sends[cid]
		in.Sends = append(in.Sends, checker.Send{
			Chat: s.chat, User: s.user, ClientID: cid, IDs: slices.Clone(s.ids),
		})
	}
	for _, st := range r.streams {
		in.Received = append(in.Received, st.s)
	}
	for chat, msgs := range hist {
		s := checker.Stream{Chat: chat, From: r.from[chat]}
		for _, m := range msgs {
			cid := ""
			if m.ClientID != nil {
				cid = *m.ClientID
			}
			s.Msgs = append(s.Msgs, checker.Msg{ID: m.ID, User: m.User.ID, ClientID: cid})
		}
		in.History = append(in.History, s)
	}
	checker.SortStreams(in.Received)
	checker.SortStreams(in.History)
	return in
}

// Percentiles summarizes latencies, in milliseconds.
type Percentiles struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(s)))) - 1
		return ms(s[max(i, 0)])
	}
	return Percentiles{N: len(s), P50: at(0.5), P99: at(0.99), P999: at(0.999), Max: ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (p Percentiles) String() string {
	return fmt.Sprintf("p50 %7.2fms  p99 %7.2fms  p99.9 %7.2fms  max %7.2fms  (n=%d)",
		p.P50, p.P99, p.P999, p.Max, p.N)
}

func sortedNames(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
