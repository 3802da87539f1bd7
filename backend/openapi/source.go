package openapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// Errors a caller can branch on when an upstream document does not load.
var (
	// ErrSourceUnreadable means the document (or a file it refers to) could not be read.
	ErrSourceUnreadable = errors.New("upstream document unreadable")
	// ErrSourceInvalid means the document was read but is not a valid OpenAPI 3 document.
	ErrSourceInvalid = errors.New("upstream document invalid")
	// ErrNotExpressible means an OpenAPI 3.1 document uses something OpenAPI 3.0 cannot say.
	ErrNotExpressible = errors.New("upstream document not expressible in OpenAPI 3.0")
	// ErrRefRefused means a $ref points somewhere the loader may not read.
	ErrRefRefused = errors.New("reference refused")
)

// Defaults for LoadOptions.
const (
	DefaultMaxDocumentBytes = 8 << 20
	DefaultFetchTimeout     = 10 * time.Second
)

// LoadOptions says how upstream documents are read.
type LoadOptions struct {
	// HTTPClient fetches URL sources; nil means a client with DefaultFetchTimeout.
	HTTPClient *http.Client
	// MaxBytes bounds each file or response read; 0 means DefaultMaxDocumentBytes.
	MaxBytes int64
	// BaseDir resolves relative file sources; "" means the working directory.
	BaseDir string
}

// Upstream is an upstream document read from a route's source, converted to OpenAPI 3.0.3
// with every $ref internal to it.
type Upstream struct {
	Doc *openapi3.T
	// SourceVersion is the openapi version the document declared.
	SourceVersion string
	// Notes say what was changed to express the document in OpenAPI 3.0.
	Notes []string
}

// LoadUpstream reads an upstream OpenAPI 3.0 or 3.1 document from a file path or an http(s)
// URL, JSON or YAML. A file document may refer to other files; a URL document may refer only
// to URLs on the same host (so a remote document cannot make Keygate read local files).
func LoadUpstream(ctx context.Context, source string, opts LoadOptions) (*Upstream, error) {
	source = strings.TrimSpace(source)
	if source == "" {
		return nil, fmt.Errorf("%w: no source given", ErrSourceUnreadable)
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxDocumentBytes
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: DefaultFetchTimeout}
	}

	loader := openapi3.NewLoader()
	loader.Context = ctx
	loader.IsExternalRefsAllowed = true

	var (
		doc *openapi3.T
		err error
	)
	switch u, perr := url.Parse(source); {
	case perr == nil && (u.Scheme == "http" || u.Scheme == "https"):
		if u.Host == "" {
			return nil, fmt.Errorf("%w: %s has no host", ErrSourceUnreadable, source)
		}
		loader.ReadFromURIFunc = readSameHost(ctx, u, opts)
		doc, err = loader.LoadFromURI(u)
	case perr == nil && u.Scheme == "file":
		doc, err = loadFile(loader, u.Path, opts)
	case perr == nil && len(u.Scheme) > 1:
		return nil, fmt.Errorf("%w: %s: only file paths and http(s) URLs are supported", ErrSourceUnreadable, source)
	default:
		doc, err = loadFile(loader, source, opts)
	}
	if err != nil {
		return nil, classifyLoadError(source, err)
	}
	return prepareUpstream(ctx, source, doc)
}

// LoadUpstreamData reads an upstream document from memory (external $refs are refused).
func LoadUpstreamData(ctx context.Context, name string, data []byte) (*Upstream, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, classifyLoadError(name, err)
	}
	return prepareUpstream(ctx, name, doc)
}

func loadFile(loader *openapi3.Loader, name string, opts LoadOptions) (*openapi3.T, error) {
	if !filepath.IsAbs(name) && opts.BaseDir != "" {
		name = filepath.Join(opts.BaseDir, name)
	}
	loader.ReadFromURIFunc = readFiles(opts)
	return loader.LoadFromFile(name)
}

// prepareUpstream checks the document, internalizes its $refs and converts it to 3.0.3.
func prepareUpstream(ctx context.Context, source string, doc *openapi3.T) (*Upstream, error) {
	if doc.OpenAPI == "" {
		if _, ok := doc.Extensions["swagger"]; ok {
			return nil, fmt.Errorf("%w: %s is a Swagger 2.0 document; convert it to OpenAPI 3 first", ErrSourceInvalid, source)
		}
		return nil, fmt.Errorf("%w: %s has no openapi version field", ErrSourceInvalid, source)
	}
	if doc.OpenAPIMajorMinor() == "" {
		return nil, fmt.Errorf("%w: %s declares openapi %q; OpenAPI 3.0, 3.1 and 3.2 are supported", ErrSourceInvalid, source, doc.OpenAPI)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSourceInvalid, source, err)
	}
	up := &Upstream{Doc: doc, SourceVersion: doc.OpenAPI}
	doc.InternalizeRefs(ctx, nil)
	notes, err := downgrade(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %s (openapi %s): %v", ErrNotExpressible, source, up.SourceVersion, err)
	}
	up.Notes = notes
	return up, nil
}

// classifyLoadError turns a loader error into one sentence that names the source.
func classifyLoadError(source string, err error) error {
	switch {
	case errors.Is(err, ErrRefRefused):
		return fmt.Errorf("%w: %s: %v", ErrRefRefused, source, err)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s: file not found (%v)", ErrSourceUnreadable, source, unwrapPathError(err))
	case errors.Is(err, ErrSourceUnreadable):
		return err
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return fmt.Errorf("%w: %s: %v", ErrSourceUnreadable, source, urlErr)
	}
	return fmt.Errorf("%w: %s: %v", ErrSourceInvalid, source, err)
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe
	}
	return err
}

// readFiles reads local files only, each bounded in size.
func readFiles(opts LoadOptions) openapi3.ReadFromURIFunc {
	return func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Host != "" || (u.Scheme != "" && u.Scheme != "file") {
			return nil, fmt.Errorf("%w: %s: a file document may only refer to other files", ErrRefRefused, u.Redacted())
		}
		f, err := os.Open(filepath.FromSlash(u.Path))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readBounded(f, opts.MaxBytes, u.Path)
	}
}

// readSameHost fetches URLs on the root's scheme and host only, each bounded in size.
func readSameHost(ctx context.Context, root *url.URL, opts LoadOptions) openapi3.ReadFromURIFunc {
	return func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Scheme != root.Scheme || u.Host != root.Host {
			return nil, fmt.Errorf("%w: %s: a document fetched from %s may only refer to URLs on that host", ErrRefRefused, u.Redacted(), root.Host)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json, application/yaml;q=0.9, */*;q=0.5")
		resp, err := opts.HTTPClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%w: fetch %s: %v", ErrSourceUnreadable, u.Redacted(), unwrapURLError(err))
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%w: fetch %s: status %s", ErrSourceUnreadable, u.Redacted(), resp.Status)
		}
		return readBounded(resp.Body, opts.MaxBytes, u.Redacted())
	}
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func readBounded(r io.Reader, limit int64, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", ErrSourceUnreadable, name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrSourceUnreadable, name, limit)
	}
	return data, nil
}
