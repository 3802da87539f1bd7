package usage

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Histogram counts latencies in fixed logarithmic buckets, so two histograms merge by adding
// their counts: the p95 of an hour is computed from the merged minutes exactly as if the hour
// had been one histogram, never averaged from the minutes' own p95s.
//
// Buckets, in microseconds: 0–15 one each, then 16 buckets per power of two (HDR style), so a
// bucket is at most 1/16 of its lower bound wide and the midpoint reported for a quantile is
// within ±3.2 % of any latency in it. Latencies above about 25 days go in the last bucket.
type Histogram [histBuckets]uint64

const (
	subBits     = 4
	subBuckets  = 1 << subBits // per power of two
	maxExponent = 40           // 2^41 µs ≈ 25 days
	histBuckets = subBuckets + (maxExponent-subBits+1)*subBuckets
)

// bucketOf is the bucket index of a latency of us microseconds.
func bucketOf(us int64) int {
	if us < subBuckets {
		return int(max(us, 0))
	}
	e := bits.Len64(uint64(us)) - 1
	if e > maxExponent {
		return histBuckets - 1
	}
	sub := int(uint64(us)>>(e-subBits)) & (subBuckets - 1)
	return subBuckets + (e-subBits)*subBuckets + sub
}

// bucketBounds returns bucket i's lowest latency and its width, in microseconds.
func bucketBounds(i int) (low, width int64) {
	if i < subBuckets {
		return int64(i), 1
	}
	e := (i-subBuckets)/subBuckets + subBits
	sub := (i - subBuckets) % subBuckets
	width = int64(1) << (e - subBits)
	return int64(subBuckets+sub) * width, width
}

// Add counts one latency of us microseconds.
func (h *Histogram) Add(us int64) { h[bucketOf(us)]++ }

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, n := range o {
		h[i] += n
	}
}

// Count is the number of latencies counted.
func (h *Histogram) Count() uint64 {
	var n uint64
	for _, c := range h {
		n += c
	}
	return n
}

// Quantile returns the q-quantile (0 < q ≤ 1) in milliseconds, the midpoint of the bucket
// holding the ⌈q·n⌉-th smallest latency, and false when the histogram is empty.
func (h *Histogram) Quantile(q float64) (float64, bool) {
	n := h.Count()
	if n == 0 {
		return 0, false
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = min(max(rank, 1), n)
	var seen uint64
	for i, c := range h {
		seen += c
		if seen >= rank {
			low, width := bucketBounds(i)
			mid := float64(low)
			if width > 1 {
				mid += float64(width) / 2
			}
			return math.Round(mid) / 1000, true
		}
	}
	return 0, false // not reached
}

// Encode writes the non-empty buckets as "index:count" pairs separated by commas: a few dozen
// bytes for a typical minute, and portable text on both store engines.
func (h *Histogram) Encode() string {
	var b strings.Builder
	for i, c := range h {
		if c == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(i))
		b.WriteByte(':')
		b.WriteString(strconv.FormatUint(c, 10))
	}
	return b.String()
}

// DecodeInto adds an encoded histogram's counts to h and to each of also.
func (h *Histogram) DecodeInto(s string, also ...*Histogram) error {
	for pair := range strings.SplitSeq(s, ",") {
		if pair == "" {
			continue
		}
		is, cs, ok := strings.Cut(pair, ":")
		i, err1 := strconv.Atoi(is)
		c, err2 := strconv.ParseUint(cs, 10, 64)
		if !ok || err1 != nil || err2 != nil || i < 0 || i >= histBuckets {
			return fmt.Errorf("latency histogram: bad pair %q", pair)
		}
		h[i] += c
		for _, o := range also {
			o[i] += c
		}
	}
	return nil
}
