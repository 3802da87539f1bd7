package gateway

import (
	"bytes"
	"errors"
)

// chunkDecoder follows a chunked body (RFC 9112 §7.1) as its bytes arrive, for the event-loop
// engine's relay: the data goes on re-framed as chunks of its own, the trailer section is
// dropped (as the fasthttp engine drops it), and any framing it cannot read exactly is an
// error, so that where the body ends is never guessed.
type chunkDecoder struct {
	keep    *captureBody // when set, the data is also copied there (a learning route)
	state   uint8
	left    uint64 // of the current chunk's data
	trailer int    // trailer bytes read so far
}

const (
	cdSize uint8 = iota
	cdData
	cdDataEnd
	cdTrailer
	cdDone
)

// Limits on what the decoder waits for: a chunk-size line (extensions included) and the
// trailer section.
const (
	chunkLineMax = 4096
	trailerMax   = 16 << 10
)

var errChunked = errors.New("upstream answer's chunked body is malformed")

// decode consumes what it can of buf, appending the data (as chunks, and the last chunk once
// the body has ended) to dst; n is how much of buf it consumed, done says the body ended.
func (d *chunkDecoder) decode(dst, buf []byte) (out []byte, n int, done bool, err error) {
	for n < len(buf) && d.state != cdDone {
		switch d.state {
		case cdSize:
			i := bytes.IndexByte(buf[n:], '\n')
			if i < 0 {
				if len(buf)-n > chunkLineMax {
					return dst, n, false, errChunked
				}
				return dst, n, false, nil
			}
			size, ok := chunkSize(buf[n : n+i])
			if !ok {
				return dst, n, false, errChunked
			}
			n += i + 1
			if size == 0 {
				d.state = cdTrailer
			} else {
				d.left, d.state = size, cdData
			}
		case cdData:
			take := min(d.left, uint64(len(buf)-n))
			dst = appendChunk(dst, buf[n:n+int(take)])
			if d.keep != nil {
				d.keep.keep(buf[n : n+int(take)])
			}
			n += int(take)
			if d.left -= take; d.left == 0 {
				d.state = cdDataEnd
			}
		case cdDataEnd:
			if len(buf)-n < 2 {
				if buf[n] != '\r' {
					return dst, n, false, errChunked
				}
				return dst, n, false, nil
			}
			if buf[n] != '\r' || buf[n+1] != '\n' {
				return dst, n, false, errChunked
			}
			n += 2
			d.state = cdSize
		case cdTrailer:
			i := bytes.IndexByte(buf[n:], '\n')
			if i < 0 {
				if d.trailer+len(buf)-n > trailerMax {
					return dst, n, false, errChunked
				}
				return dst, n, false, nil
			}
			line := buf[n : n+i]
			if len(line) == 0 || line[len(line)-1] != '\r' {
				return dst, n, false, errChunked
			}
			n += i + 1
			if len(line) == 1 {
				d.state = cdDone
				break
			}
			if d.trailer += len(line); d.trailer > trailerMax {
				return dst, n, false, errChunked
			}
		}
	}
	if d.state == cdDone {
		return append(dst, lastChunk...), n, true, nil
	}
	return dst, n, false, nil
}

// chunkSize reads a chunk-size line (without its LF): hex digits, then optional whitespace and
// extensions after ';', ending in CR.
func chunkSize(line []byte) (uint64, bool) {
	if len(line) < 2 || line[len(line)-1] != '\r' {
		return 0, false
	}
	line = line[:len(line)-1]
	if j := bytes.IndexByte(line, ';'); j >= 0 {
		line = bytes.TrimRight(line[:j], " \t")
	}
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var size uint64
	for _, c := range line {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		size = size<<4 | uint64(c)
	}
	return size, true
}
