package gateway

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"

	"github.com/arena-hq/arena/modules/game"
)

// Everything random about a match is decided here with crypto/rand: seat
// letters are handed to humans first, so a guessable seat order would tell
// who is human.

// randN returns a uniform random number in [0, n).
func randN(n int) int {
	if n <= 1 {
		return 0
	}
	limit := ^uint64(0) - ^uint64(0)%uint64(n) // reject the biased tail
	var b [8]byte
	for {
		_, _ = rand.Read(b[:]) // never fails (Go 1.24+)
		if v := binary.LittleEndian.Uint64(b[:]); v < limit {
			return int(v % uint64(n))
		}
	}
}

// shuffleN is rand.Shuffle (Fisher-Yates) with crypto/rand, for
// game.NewMatch.
func shuffleN(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, randN(i+1))
	}
}

// codeAlphabet leaves out letters and digits that are easily confused
// (I, L, O, 0, 1), so an invite code read aloud is typed right.
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// codeLen is the length of an invite code.
const codeLen = 6

func newInviteCode() string {
	b := make([]byte, codeLen)
	for i := range b {
		b[i] = codeAlphabet[randN(len(codeAlphabet))]
	}
	return string(b)
}

// idAlphabet is for match and player ids: lowercase, URL-safe, no lookalikes.
const idAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"

// newID returns a random id of n characters (5 bits each).
func newID(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idAlphabet[randN(len(idAlphabet))]
	}
	return string(b)
}

func newMatchID() string  { return newID(16) } // 80 bits
func newPlayerID() string { return newID(20) } // 100 bits

// newToken returns a player's secret token (32 random bytes, base64url)
// and the hash that goes into the match log.
func newToken() (token, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, tokenHash(token)
}

// tokenHash is the hex SHA-256 of a token, as stored in PlayerJoined.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// seatByToken returns the human seat of s the token belongs to, or nil. It
// compares every seat's hash in constant time.
func seatByToken(s *game.State, token string) *game.Seat {
	if s == nil || token == "" {
		return nil
	}
	h := []byte(tokenHash(token))
	var found *game.Seat
	for i := range s.Seats {
		seat := &s.Seats[i]
		if seat.Human && subtle.ConstantTimeCompare(h, []byte(seat.TokenHash)) == 1 {
			found = seat
		}
	}
	return found
}

// derivedToken returns a token (and its hash) that is a pure function of
// secret parts a client holds (an idempotency key, the token of its seat in
// the previous match), so that a retried request gets the same seat back.
func derivedToken(parts ...string) (token, hash string) {
	h := sha256.New()
	h.Write([]byte("arena-token"))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	token = base64.RawURLEncoding.EncodeToString(h.Sum(nil))
	return token, tokenHash(token)
}

// derivedID is newID's counterpart for ids that are a pure function of
// parts.
func derivedID(n int, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	b := make([]byte, n)
	for i := range b {
		b[i] = idAlphabet[sum[i%len(sum)]%byte(len(idAlphabet))]
	}
	return string(b)
}
