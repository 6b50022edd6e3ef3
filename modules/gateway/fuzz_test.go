package gateway

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fuzzSeat is one player's seat in a running match, shared by every fuzz
// input (the match lives in the shared broker; each input gets a fresh
// gateway and socket, so one input's effects on rate limits or the socket
// never leak into the next).
var (
	fuzzSeat     seatReply
	fuzzSeatOnce sync.Once
)

// FuzzClientFrame sends any bytes, as a text or binary frame, to a live
// gateway as a player of a running match. Whatever the frame, the gateway
// answers only with protocol frames (state, ack, or error with a code and
// a message), keeps the socket open, and still handles the next frame.
func FuzzClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"answer","round":1,"text":"hello","id":"a"}`,
		`{"type":"vote","round":1,"seat":"B","id":"v"}`,
		`{"type":"typing","round":1}`,
		`{"type":"start","id":"s"}`,
		`{"type":"answer","round":1,"text":"x","seat":"B","voter":"C"}`,
		`{"type":"answer","round":-1e300,"text":null}`,
		`{"type":"answer","round":1,"text":"` + strings.Repeat("a", 5000) + `"}`,
		strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
		`{"type":{"type":"answer"}}`,
		`{"type":"answer","type":"vote","round":1,"seat":"A"}`,
		"{\"type\":\"answer\",\"round\":1,\"text\":\"\xff\xfe\"}",
		`null`, `[]`, `""`, ``, `{"id":123}`,
		"\x00\x01\x02",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(`{"type":"answer","round":1,"text":"bin"}`), true)
	f.Fuzz(func(t *testing.T, data []byte, binary bool) {
		if len(data) > 16<<10 {
			data = data[:16<<10] // frames over 64 KiB close the socket by design (TestHugeFrame)
		}
		h := newHarness(t, nil)
		h.g.frameBurst = 1000
		fuzzSeatOnce.Do(func() { fuzzSeat, _ = h.privateMatch() })
		c := h.connect(fuzzSeat)

		typ := websocket.MessageText
		if binary {
			typ = websocket.MessageBinary
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.c.Write(ctx, typ, data); err != nil {
			t.Fatalf("write: %v", err)
		}
		// The probe is handled after the fuzzed frame: its error says the
		// socket is alive and the reader moved on.
		c.send(map[string]any{"type": "probe", "id": "probe"})
		for {
			f := c.next()
			if f.Type == "error" && f.ID == "probe" {
				if f.Code != codeUnknownType {
					t.Fatalf("probe answered %s", f.Raw)
				}
				return
			}
			switch {
			case f.Type == "ack":
			case f.Type == "error" && f.Code != "" && f.Message != "":
			default:
				t.Fatalf("frame %q got reply %s", data, f.Raw)
			}
		}
	})
}
