package cli

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// exportFormats are what --format takes on listing commands that export.
const exportFormatsUsage = "--format must be table, csv or ndjson"

// checkExportFormat refuses a --format other than table, csv or ndjson.
func checkExportFormat(f string) error {
	switch f {
	case "table", "csv", "ndjson":
		return nil
	}
	return usagef(exportFormatsUsage)
}

// writeCSV writes a header and rows as RFC 4180 CSV. A cell a spreadsheet would run as a
// formula (starting with =, +, -, @, tab or carriage return) gets a leading apostrophe; the
// numeric columns (numeric[i]) are written as they are.
func writeCSV(w io.Writer, header []string, numeric map[int]bool, rows [][]string) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, r := range rows {
		out := make([]string, len(r))
		for i, c := range r {
			if !numeric[i] && c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				c = "'" + c
			}
			out[i] = c
		}
		if err := cw.Write(out); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeNDJSON writes each value as one line of JSON.
func writeNDJSON[T any](w io.Writer, vs []T) error {
	enc := json.NewEncoder(w)
	for _, v := range vs {
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return nil
}

var spanBack = regexp.MustCompile(`^([0-9]+)d$`)

// timeFlag turns --since/--until into the RFC 3339 instant the operation takes: a span back
// from now (15m, 24h, 7d) becomes now minus it; anything else goes to the operation as given,
// which refuses what is not RFC 3339 with its own localized message.
func timeFlag(v string, now time.Time) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if m := spanBack.FindStringSubmatch(v); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n <= 36500 {
			return now.AddDate(0, 0, -n).UTC().Format(time.RFC3339Nano)
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d).UTC().Format(time.RFC3339Nano)
	}
	return v
}
