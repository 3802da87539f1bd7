package gateway

import (
	"bytes"
	"io"
	"net/http/httputil"
	"strings"
	"testing"
)

// decodeAll feeds body to a chunkDecoder in pieces of size step, as a loop would get it.
func decodeAll(body []byte, step int) (out []byte, consumed int, done bool, err error) {
	var d chunkDecoder
	var pending []byte
	for i := 0; i < len(body) && !done && err == nil; i += step {
		pending = append(pending, body[i:min(i+step, len(body))]...)
		var n int
		out, n, done, err = d.decode(out, pending)
		pending = pending[n:]
		consumed += n
	}
	return out, consumed, done, err
}

func TestChunkDecoderReframesWhateverTheReads(t *testing.T) {
	body := "3\r\nabc\r\n4;name=value;x=\"q\"\r\ndefg\r\na \t;ext\r\n0123456789\r\n0\r\nX-Sum: 17\r\nX-Other: y\r\n\r\n"
	rest := "HTTP/1.1 200 OK\r\n" // the next answer on the connection: not the body's
	for step := 1; step <= len(body)+len(rest); step++ {
		out, n, done, err := decodeAll([]byte(body+rest), step)
		if err != nil || !done {
			t.Fatalf("step %d: done %v, err %v", step, done, err)
		}
		if n != len(body) {
			t.Fatalf("step %d: consumed %d bytes, the body has %d", step, n, len(body))
		}
		data, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(out)))
		if err != nil || string(data) != "abcdefg0123456789" {
			t.Fatalf("step %d: re-framed %q reads as %q, %v", step, out, data, err)
		}
		if bytes.Contains(out, []byte("X-Sum")) || !bytes.HasSuffix(out, []byte("0\r\n\r\n")) {
			t.Fatalf("step %d: trailers kept or no last chunk: %q", step, out)
		}
	}
}

func TestChunkDecoderRefusesWhatItCannotReadExactly(t *testing.T) {
	for _, body := range []string{
		"zz\r\nab\r\n0\r\n\r\n",                        // not hex
		"5\nhello\r\n0\r\n\r\n",                        // bare LF after the size
		"5\r\nhelloXX0\r\n\r\n",                        // no CRLF after the data
		"5\r\nhello\n0\r\n\r\n",                        // bare LF after the data
		"-1\r\n",                                       // a sign
		"+5\r\nhello\r\n0\r\n\r\n",                     // a sign
		"5 5\r\nhello\r\n",                             // blanks inside the size
		"0x5\r\nhello\r\n",                             // a prefix
		"1000000000000000\r\n",                         // 16 digits: over any length
		"\r\nhello\r\n",                                // no size
		"0\r\nX-Sum: 1\n\r\n",                          // bare LF in the trailers
		"1;" + strings.Repeat("e", chunkLineMax+1),     // an endless size line
		"0\r\nX: " + strings.Repeat("v", trailerMax+1), // endless trailers
	} {
		for _, step := range []int{1, 3, len(body)} {
			if _, _, done, err := decodeAll([]byte(body), step); err == nil {
				t.Errorf("%.40q (reads of %d): no error (done %v)", body, step, done)
			}
		}
	}
}
