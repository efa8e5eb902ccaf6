package checker

import (
	"fmt"
	"strings"
	"testing"
)

func msgs(ids ...int64) []Msg {
	out := make([]Msg, len(ids))
	for i, id := range ids {
		out[i] = Msg{ID: id, User: 1, ClientID: fmt.Sprint("c", id)}
	}
	return out
}

func TestCheck(t *testing.T) {
	sends := []Send{
		{Chat: "x", User: 1, ClientID: "c10", IDs: []int64{10}},
		{Chat: "x", User: 1, ClientID: "c11", IDs: []int64{11}},
		{Chat: "x", User: 1, ClientID: "c12", IDs: []int64{12}},
		{Chat: "x", User: 1, ClientID: "never"},
	}
	tests := []struct {
		name                  string
		received              []Msg
		from                  int64
		lost, dup, order, red int
	}{
		{"all once in order", msgs(10, 11, 12), 0, 0, 0, 0, 0},
		{"one lost", msgs(10, 12), 0, 1, 0, 0, 0},
		{"one twice", msgs(10, 11, 11, 12), 0, 0, 1, 0, 0},
		{"out of order", msgs(10, 12, 11), 0, 0, 0, 1, 0},
		{"before the run is not expected", msgs(12), 11, 0, 0, 0, 0},
		{"stored twice under two ids",
			append(msgs(10, 11, 12), Msg{ID: 13, User: 1, ClientID: "c10"}), 0, 0, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{
				Sends:    sends,
				Received: []Stream{{User: 2, Chat: "x", From: tt.from, Msgs: tt.received}},
				History:  []Stream{{Chat: "x", Msgs: msgs(10, 11, 12)}},
			}
			r := Check(in)
			got := [4]int{r.Received.Lost, r.Received.Duplicated, r.Received.OutOfOrder, r.Redone}
			want := [4]int{tt.lost, tt.dup, tt.order, tt.red}
			if got != want {
				t.Fatalf("lost, duplicated, out of order, stored twice = %v, want %v\n%s", got, want, r)
			}
			if ok := tt.lost+tt.dup+tt.order+tt.red == 0; r.OK() != ok {
				t.Fatalf("OK = %v, want %v", r.OK(), ok)
			}
			if r.Acked != 3 || r.Unacked != 1 || r.History.Expected != 3 || r.History.Lost != 0 {
				t.Fatalf("report = %+v", r)
			}
		})
	}
}

func TestCheckHistoryDefects(t *testing.T) {
	in := Input{
		Sends: []Send{
			{Chat: "x", User: 1, ClientID: "a", IDs: []int64{1}},
			{Chat: "x", User: 1, ClientID: "b", IDs: []int64{2}},
		},
		History: []Stream{{Chat: "x", Msgs: msgs(2, 2)}},
	}
	r := Check(in)
	if r.History.Lost != 1 || r.History.Duplicated != 1 || r.OK() {
		t.Fatalf("history counts = %+v", r.History)
	}
	if s := r.String(); !strings.Contains(s, "TOTAL lost 1, duplicated 1, out of order 0") {
		t.Fatalf("report text:\n%s", s)
	}
}
