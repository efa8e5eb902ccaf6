// Package checker decides, after a load run, whether Parley kept its
// delivery promises: every acknowledged message reached every member that
// followed its chat, and the history, exactly once and in id order. It is
// pure computation over what the load generator recorded; Check is safe to
// call from any goroutine.
package checker

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Send is one message a sender meant to post. IDs holds every distinct id
// the sender was acknowledged with, over all its tries; empty when none
// was acknowledged. More than one id means the message was stored twice.
type Send struct {
	Chat     string
	User     int64
	ClientID string
	IDs      []int64
}

// Msg is one message as a receiver got it.
type Msg struct {
	ID       int64
	User     int64
	ClientID string
}

// Stream is what one receiver got from one chat, in arrival order, or,
// with User 0, the chat's history in the order the archive gave it. From
// is the newest id before the run: nothing at or below it is expected.
type Stream struct {
	User int64
	Chat string
	From int64
	Msgs []Msg
}

// Input is everything a run recorded.
type Input struct {
	Sends    []Send
	Received []Stream
	History  []Stream
}

// Counts are the defects of one kind of stream.
type Counts struct {
	Streams    int `json:"streams"`      // streams checked
	Expected   int `json:"expected"`     // acknowledged messages that should have arrived, over all streams
	Lost       int `json:"lost"`         // of those, how many never arrived
	Duplicated int `json:"duplicated"`   // copies beyond the first of any message
	OutOfOrder int `json:"out_of_order"` // messages that arrived after one with a larger id
}

// Report is the verdict.
type Report struct {
	Sends    int // messages the senders meant to post
	Acked    int // of those, acknowledged
	Unacked  int // never acknowledged (not counted as lost)
	Received Counts
	History  Counts
	// Redone counts sends stored more than once: acknowledged with two
	// ids, or seen under two ids by anyone.
	Redone int
	// Examples describes a few defects, for a first look.
	Examples []string
}

// OK reports whether nothing was lost, duplicated or out of order.
func (r Report) OK() bool {
	bad := func(c Counts) bool { return c.Lost+c.Duplicated+c.OutOfOrder > 0 }
	return r.Redone == 0 && !bad(r.Received) && !bad(r.History)
}

// Lost, Duplicated and OutOfOrder add up both kinds of stream; a message
// stored twice counts as duplicated.
func (r Report) Lost() int       { return r.Received.Lost + r.History.Lost }
func (r Report) Duplicated() int { return r.Received.Duplicated + r.History.Duplicated + r.Redone }
func (r Report) OutOfOrder() int { return r.Received.OutOfOrder + r.History.OutOfOrder }

// String is the report for people.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sends %d, acknowledged %d, never acknowledged %d\n", r.Sends, r.Acked, r.Unacked)
	line := func(what string, c Counts) {
		fmt.Fprintf(&b, "%-9s %4d streams, %7d expected: lost %d, duplicated %d, out of order %d\n",
			what, c.Streams, c.Expected, c.Lost, c.Duplicated, c.OutOfOrder)
	}
	line("delivered", r.Received)
	line("history", r.History)
	fmt.Fprintf(&b, "stored twice %d\n", r.Redone)
	fmt.Fprintf(&b, "TOTAL lost %d, duplicated %d, out of order %d\n",
		r.Lost(), r.Duplicated(), r.OutOfOrder())
	for _, e := range r.Examples {
		fmt.Fprintf(&b, "  e.g. %s\n", e)
	}
	return b.String()
}

const maxExamples = 10

// Check compares what was acknowledged with what was received and kept.
func Check(in Input) Report {
	var r Report
	acked := ackedByChat(in.Sends, &r)
	r.Redone = redone(in, &r)
	for _, s := range in.Received {
		r.Received.add(checkStream(s, acked[s.Chat], "member", &r))
	}
	for _, s := range in.History {
		r.History.add(checkStream(s, acked[s.Chat], "history", &r))
	}
	return r
}

func (c *Counts) add(o Counts) {
	c.Streams += o.Streams
	c.Expected += o.Expected
	c.Lost += o.Lost
	c.Duplicated += o.Duplicated
	c.OutOfOrder += o.OutOfOrder
}

func (r *Report) example(format string, args ...any) {
	if len(r.Examples) < maxExamples {
		r.Examples = append(r.Examples, fmt.Sprintf(format, args...))
	}
}

// ackedByChat returns each chat's acknowledged ids, sorted.
func ackedByChat(sends []Send, r *Report) map[string][]int64 {
	acked := map[string][]int64{}
	for _, s := range sends {
		r.Sends++
		if len(s.IDs) == 0 {
			r.Unacked++
			continue
		}
		r.Acked++
		acked[s.Chat] = append(acked[s.Chat], s.IDs...)
	}
	for chat, ids := range acked {
		slices.Sort(ids)
		acked[chat] = slices.Compact(ids)
	}
	return acked
}

type sendKey struct {
	chat     string
	user     int64
	clientID string
}

// redone counts sends that were stored under more than one id, as their
// acks or anyone's copies show.
func redone(in Input, r *Report) int {
	seen := map[sendKey]map[int64]bool{}
	note := func(k sendKey, id int64) {
		if k.clientID == "" {
			return
		}
		if seen[k] == nil {
			seen[k] = map[int64]bool{}
		}
		seen[k][id] = true
	}
	for _, s := range in.Sends {
		for _, id := range s.IDs {
			note(sendKey{s.Chat, s.User, s.ClientID}, id)
		}
	}
	for _, streams := range [][]Stream{in.Received, in.History} {
		for _, s := range streams {
			for _, m := range s.Msgs {
				note(sendKey{s.Chat, m.User, m.ClientID}, m.ID)
			}
		}
	}
	n := 0
	for k, ids := range seen {
		if len(ids) > 1 {
			n += len(ids) - 1
			r.example("client_id %s in chat %s stored as %v", k.clientID, k.chat, sortedKeys(ids))
		}
	}
	return n
}

func sortedKeys(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// checkStream compares one stream with its chat's acknowledged ids.
func checkStream(s Stream, acked []int64, what string, r *Report) Counts {
	c := Counts{Streams: 1}
	got := map[int64]int{}
	var newest int64
	for _, m := range s.Msgs {
		got[m.ID]++
		if got[m.ID] > 1 {
			c.Duplicated++
			r.example("%s %d of chat %s got %d twice", what, s.User, s.Chat, m.ID)
			continue
		}
		if m.ID < newest {
			c.OutOfOrder++
			r.example("%s %d of chat %s got %d after %d", what, s.User, s.Chat, m.ID, newest)
		}
		newest = max(newest, m.ID)
	}
	for _, id := range acked {
		if id <= s.From {
			continue
		}
		c.Expected++
		if got[id] == 0 {
			c.Lost++
			r.example("%s %d of chat %s never got %d", what, s.User, s.Chat, id)
		}
	}
	return c
}

// SortStreams orders streams by chat and user, so reports are stable.
func SortStreams(s []Stream) {
	slices.SortFunc(s, func(a, b Stream) int {
		return cmp.Or(cmp.Compare(a.Chat, b.Chat), cmp.Compare(a.User, b.User))
	})
}
