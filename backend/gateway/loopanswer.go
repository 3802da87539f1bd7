package gateway

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/keygate/keygate/backend/cookies"
)

// loopanswer.go reads an upstream answer's head on an event loop and writes the client's from
// it in one pass: the status line and the header lines are checked (parseAnswer), then each
// line is copied or left out and the gateway's own headers added (appendAnswer). The rules are
// cleanAnswerHead's, which the fasthttp engine applies to fasthttp's parsed head: hop-by-hop
// headers and those Connection names go, as do the headers the gateway owns or sets itself and
// Set-Cookie lines for the console's cookies; the framing is the gateway's (the answer's length,
// or chunks), and so is Date, as fasthttp (and nginx) write it.

// upstreamAnswer is what parseAnswer reads from an answer's head. Its slices point into the
// head, which stays buffered until appendAnswer has run.
type upstreamAnswer struct {
	status      int
	reason      []byte
	length      int  // Content-Length; -1 when none (or chunked)
	chunked     bool // Transfer-Encoding: chunked (which wins over a length)
	close       bool // the upstream closes the connection after it
	contentType []byte
	encoding    []byte   // Content-Encoding
	named       [][]byte // the headers Connection names (but close and keep-alive)
	lines       []byte   // the header lines
	namedBuf    [4][]byte
}

// Errors of an answer head a loop refuses (502). The fasthttp engine checks its answers' heads
// with parseAnswer too (readHead), so it refuses the same ones the same way.
var (
	errAnswerHead      = errors.New("upstream answer's head is malformed")
	errAnswerFraming   = errors.New("upstream answer's framing is ambiguous")
	errAnswerFoldedHdr = errors.New("upstream answer has a folded (obs-fold) header line")
)

// answerHeadEnd returns the length of the head at the front of buf, to the end of its empty
// line, or -1 when that line has not all arrived. A line ends at LF, with or without a CR before
// it (RFC 9112 §2.2), so the empty line is "\r\n" or "\n" after another line's LF.
func answerHeadEnd(buf []byte) int {
	for i := bytes.IndexByte(buf, '\n'); i >= 0; {
		if r := buf[i+1:]; len(r) > 0 && r[0] == '\n' {
			return i + 2
		} else if len(r) > 1 && r[0] == '\r' && r[1] == '\n' {
			return i + 3
		} else if len(r) < 2 {
			return -1
		}
		j := bytes.IndexByte(buf[i+1:], '\n')
		if j < 0 {
			return -1
		}
		i += 1 + j
	}
	return -1
}

// nextLine cuts the line at the front of b at its LF, less a CR before it.
func nextLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line, rest = b[:i], b[i+1:]
	} else {
		line = b
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// parseAnswer reads head (the whole head, to its empty line). It refuses what the gateway
// could forward in more than one way: a malformed status or header line, a folded line, more
// than one Content-Length, a transfer coding other than chunked.
func parseAnswer(a *upstreamAnswer, head []byte) error {
	*a = upstreamAnswer{length: -1}
	a.named = a.namedBuf[:0]
	line, rest := nextLine(head)
	var http10 bool
	switch {
	case len(line) < len("HTTP/1.1 200") || len(line) > 12 && line[12] != ' ':
		return errAnswerHead
	case string(line[:9]) == "HTTP/1.1 ":
	case string(line[:9]) == "HTTP/1.0 ":
		http10 = true
	default:
		return errAnswerHead
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return errAnswerHead
		}
		a.status = a.status*10 + int(c-'0')
	}
	if a.status < 100 {
		return errAnswerHead
	}
	if len(line) > 12 {
		if a.reason = line[13:]; !validValue(a.reason) {
			return errAnswerHead
		}
	}
	a.lines = rest
	keepAlive := false
	for len(rest) > 0 {
		line, rest = nextLine(rest)
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return errAnswerFoldedHdr
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validName(line[:colon]) {
			return errAnswerHead
		}
		name, value := b2s(line[:colon]), trimOWS(line[colon+1:])
		if !validValue(value) {
			return errAnswerHead
		}
		switch len(name) {
		case 10:
			if strings.EqualFold(name, "Connection") {
				for f := range strings.SplitSeq(b2s(value), ",") {
					switch f = strings.TrimSpace(f); {
					case strings.EqualFold(f, "close"):
						a.close = true
					case strings.EqualFold(f, "keep-alive"):
						keepAlive = true
					case f != "":
						a.named = append(a.named, s2b(f))
					}
				}
			}
		case 12:
			if strings.EqualFold(name, "Content-Type") {
				a.contentType = value
			}
		case 14:
			if strings.EqualFold(name, "Content-Length") {
				n, ok := parseLength(b2s(value))
				if !ok || n > 1<<62 || a.length >= 0 { // a second one, even an equal one: as fasthttp
					return errAnswerFraming
				}
				a.length = int(n)
			}
		case 16:
			if strings.EqualFold(name, "Content-Encoding") {
				a.encoding = value
			}
		case 17:
			if strings.EqualFold(name, "Transfer-Encoding") {
				if a.chunked || !strings.EqualFold(b2s(value), "chunked") {
					return errAnswerFraming
				}
				a.chunked = true
			}
		}
	}
	if a.chunked {
		if http10 {
			return errAnswerFraming // no chunks in HTTP/1.0
		}
		a.length = -1 // the coding wins over a length (RFC 9112 §6.3), as in fasthttp
	}
	if http10 && !keepAlive {
		a.close = true
	}
	return nil
}

// Framings of the client's answer (appendAnswer).
const (
	frameNone    = iota // no body (HEAD, 204, 304): the upstream's length describes another answer
	frameLength         // the body's length
	frameChunked        // re-chunked by the gateway
)

// appendAnswer appends the client's answer head for a (parseAnswer) to dst: date is the Date
// line, frame the body's framing, closing whether the gateway closes the client's connection
// after it.
func appendAnswer(dst []byte, a *upstreamAnswer, st *reqState, date []byte, frame int, closing bool) []byte {
	var num answerNumbers
	own, n := answerHeaders(st, &num)
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(a.status), 10)
	dst = append(dst, ' ')
	if len(a.reason) > 0 {
		dst = append(dst, a.reason...)
	} else {
		dst = append(dst, fasthttp.StatusMessage(a.status)...)
	}
	dst = append(dst, '\r', '\n')
	dst = append(dst, date...)
	for rest := a.lines; len(rest) > 0; {
		var line []byte
		line, rest = nextLine(rest)
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		name, value := b2s(line[:colon]), trimOWS(line[colon+1:])
		if !answeredAsSent(name, value, a, own[:n]) {
			continue
		}
		dst = append(dst, name...)
		dst = append(dst, ':', ' ')
		dst = append(dst, value...)
		dst = append(dst, '\r', '\n')
	}
	switch {
	case len(a.contentType) > 0:
		dst = appendHeader(dst, hnContentType, b2s(a.contentType))
	case a.length != 0 && a.status != fasthttp.StatusNoContent && a.status != fasthttp.StatusNotModified:
		// An answer that may have a body and says not what it is, is text, as fasthttp
		// labels it on the other engine (and a browser does not sniff it for HTML).
		dst = append(dst, "Content-Type: text/plain; charset=utf-8\r\n"...)
	}
	if len(a.encoding) > 0 {
		dst = appendHeader(dst, hnContentEncoding, b2s(a.encoding))
	}
	for _, hv := range own[:n] {
		dst = appendHeader(dst, hv.name, hv.value)
	}
	switch {
	case frame == frameLength:
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(a.length), 10)
		dst = append(dst, '\r', '\n')
	case frame == frameChunked:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	case a.length >= 0 && a.status != fasthttp.StatusNoContent: // (RFC 9110 §8.6: none on a 204)
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(a.length), 10)
		dst = append(dst, '\r', '\n')
	}
	if closing {
		dst = append(dst, "Connection: close\r\n"...)
	}
	return append(dst, '\r', '\n')
}

var hnContentEncoding = []byte("Content-Encoding")

// answeredAsSent says whether an upstream's header line goes to the client as it is (see the
// file's comment); own are the gateway's answer headers.
func answeredAsSent(name string, value []byte, a *upstreamAnswer, own []headerValue) bool {
	switch len(name) {
	case 4:
		if strings.EqualFold(name, "Date") {
			return false
		}
	case 10:
		if strings.EqualFold(name, "Set-Cookie") {
			return !cookies.SetsConsoleCookie(b2s(value))
		}
	case 12:
		if strings.EqualFold(name, "Content-Type") {
			return false
		}
	case 14:
		if strings.EqualFold(name, "Content-Length") {
			return false
		}
	case 16:
		if strings.EqualFold(name, "Content-Encoding") {
			return false
		}
	}
	if isHopHeader(name) {
		return false
	}
	for _, n := range upstreamOwnedHeaders {
		if len(name) == len(n) && strings.EqualFold(name, n) {
			return false
		}
	}
	for _, n := range a.named {
		if strings.EqualFold(name, b2s(n)) {
			return false
		}
	}
	for _, hv := range own {
		if !hv.added && len(name) == len(hv.name) && strings.EqualFold(name, b2s(hv.name)) {
			return false
		}
	}
	return true
}
