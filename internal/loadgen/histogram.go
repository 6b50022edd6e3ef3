package loadgen

import (
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// serverQuantiles reads a Prometheus histogram from a /metrics page and
// estimates its quantiles by linear interpolation within buckets, as
// histogram_quantile does. ok is false when the histogram is missing or
// empty.
func serverQuantiles(client *http.Client, url, name string, qs ...float64) (out []float64, count float64, ok bool) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, 0, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, false
	}
	type bucket struct{ le, n float64 }
	var buckets []bucket
	prefix := name + `_bucket{`
	for line := range strings.Lines(string(body)) {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		_, rest, _ := strings.Cut(line, `le="`)
		leStr, rest, _ := strings.Cut(rest, `"`)
		le, err1 := strconv.ParseFloat(leStr, 64)
		n, err2 := strconv.ParseFloat(strings.TrimSpace(rest[strings.LastIndexByte(rest, ' ')+1:]), 64)
		if err1 != nil || err2 != nil {
			continue
		}
		buckets = append(buckets, bucket{le, n})
	}
	slices.SortFunc(buckets, func(a, b bucket) int { return int(math.Copysign(1, a.le-b.le)) })
	if len(buckets) == 0 || buckets[len(buckets)-1].n == 0 {
		return nil, 0, false
	}
	total := buckets[len(buckets)-1].n
	for _, q := range qs {
		rank := q * total
		lo, below := 0.0, 0.0
		v := buckets[len(buckets)-1].le
		for _, b := range buckets {
			if b.n >= rank {
				if math.IsInf(b.le, 1) {
					v = lo // beyond the last finite bucket: its bound is all we know
				} else {
					v = lo + (b.le-lo)*(rank-below)/math.Max(b.n-below, 1)
				}
				break
			}
			lo, below = b.le, b.n
		}
		out = append(out, v)
	}
	return out, total, true
}
