package console

import (
	"bytes"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// spa serves the built frontend: files as they are, and index.html for client routes
// (/keys, /settings/…), so that a reload or a shared link lands on the right screen.
type spa struct {
	assets fs.FS
}

func newSPA(assets fs.FS) *spa { return &spa{assets: assets} }

// contentTypes covers what the frontend build emits beyond Go's built-in table, so answers do
// not depend on the host's /etc/mime.types.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".ico":         "image/x-icon",
	".webp":        "image/webp",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".ttf":         "font/ttf",
	".txt":         "text/plain; charset=utf-8",
	".wasm":        "application/wasm",
	".webmanifest": "application/manifest+json",
}

func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if ct, ok := contentTypes[ext]; ok {
		return ct
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

func (h *spa) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Content-Security-Policy", "frame-ancestors 'none'; base-uri 'self'; object-src 'none'")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// path.Clean on a rooted path removes every "..": nothing outside the assets is reachable,
	// and fs.ValidPath refuses what is left of anything odd.
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	if !fs.ValidPath(name) || strings.Contains(name, "\\") {
		http.NotFound(w, r)
		return
	}
	if h.serveFile(w, r, name) {
		return
	}
	// A missing file with an extension is a missing asset, not a client route.
	if strings.Contains(path.Base(name), ".") {
		http.NotFound(w, r)
		return
	}
	if !h.serveFile(w, r, "index.html") {
		notBuilt(w)
	}
}

// serveFile answers with the file name if it exists and is a regular file.
func (h *spa) serveFile(w http.ResponseWriter, r *http.Request, name string) bool {
	if h.assets == nil {
		return false
	}
	f, err := h.assets.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	hd := w.Header()
	hd.Set("Content-Type", contentType(name))
	if strings.HasPrefix(name, "assets/") {
		// Vite puts content hashes in these names: they never change.
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	if rs, ok := f.(io.ReadSeeker); ok {
		http.ServeContent(w, r, name, fi.ModTime(), rs)
		return true
	}
	b, err := io.ReadAll(f)
	if err != nil {
		http.Error(w, "read failed", http.StatusInternalServerError)
		return true
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
	return true
}

func notBuilt(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	io.WriteString(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Keygate</title></head>
<body><h1>Keygate</h1><p>The console frontend is not built into this binary.</p>
<p>Build it with <code>make build</code> (which runs <code>npm run build</code> in <code>frontend/</code> and embeds the result).
The API under <code>/api/v1/</code> works without it.</p></body></html>
`)
}
