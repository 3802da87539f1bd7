package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/store"
)

// BackupContentType is the media type of a backup: an SQLite 3 database file.
const BackupContentType = "application/vnd.sqlite3"

// File is the result of an operation that answers a file rather than JSON (see
// Operation.produces): over HTTP its bytes are the body, with its name in Content-Disposition
// and its size in Content-Length; the desktop binding saves it where the user chooses and
// answers Path. Whoever receives a File must Close it, which deletes the temporary file behind it.
type File struct {
	// Name is the name to save the file under, e.g. keygate-backup-20260130-154501.db.
	Name string `json:"name"`
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
	// Path is where the desktop app saved the file ("" when the user cancelled).
	Path string `json:"path"`

	f   *os.File
	dir string // removed on Close
}

// Open returns the file's content from its start; it belongs to the File (Close closes it).
func (f *File) Open() (io.ReadSeeker, error) {
	if f.f == nil {
		return nil, errors.New("file already closed")
	}
	if _, err := f.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return f.f, nil
}

// Close closes the file and deletes it and its temporary directory.
func (f *File) Close() error {
	var err error
	if f.f != nil {
		err = f.f.Close()
		f.f = nil
	}
	if f.dir != "" {
		if rerr := os.RemoveAll(f.dir); err == nil {
			err = rerr
		}
		f.dir = ""
	}
	return err
}

// errBackupPostgres refuses a backup of a PostgreSQL store, whose own tools do it.
var errBackupPostgres = &Error{Status: http.StatusConflict, Code: problem.CodeConflict, Msg: "problem.CONFLICT.backup_postgres.detail"}

// downloadBackup makes a consistent copy of the whole SQLite database (VACUUM INTO, so the
// gateway and the console keep working meanwhile) into a private temporary directory beside
// the database: the copy holds every key's hash, every account's password hash and the
// request log, so it never goes to a shared /tmp. The caller streams it and closes it.
func (s *Service) downloadBackup(ctx context.Context, c *Call, _ *NoInput) (File, error) {
	if s.Store.Dialect != store.SQLite || s.Store.Path == "" {
		return File{}, errBackupPostgres
	}
	dir, err := os.MkdirTemp(filepath.Dir(s.Store.Path), ".backup-")
	if err != nil {
		return File{}, fmt.Errorf("back up: %w", err)
	}
	out := File{Name: "keygate-backup-" + s.Clock.Now().Local().Format("20060102-150405") + ".db", dir: dir}
	path := filepath.Join(dir, out.Name)
	if err := s.Store.Backup(ctx, path, store.BackupOptions{}); err != nil {
		out.Close()
		return File{}, fmt.Errorf("back up: %w", err)
	}
	if out.f, err = os.Open(path); err != nil {
		out.Close()
		return File{}, fmt.Errorf("back up: %w", err)
	}
	fi, err := out.f.Stat()
	if err != nil {
		out.Close()
		return File{}, fmt.Errorf("back up: %w", err)
	}
	out.Size = fi.Size()
	inst, err := s.instanceOrg(ctx)
	if err == nil {
		err = s.recordFirst(ctx, c, inst.ID, audit.StoreBackup, "", strconv.FormatInt(out.Size, 10)+" bytes")
	}
	if err != nil {
		out.Close()
		return File{}, fmt.Errorf("back up: %w", err)
	}
	return out, nil
}

// writeFile sends f as the answer's body (a download) and closes it.
func writeFile(w http.ResponseWriter, r *http.Request, o Operation, f *File) {
	defer f.Close()
	body, err := f.Open()
	if err != nil {
		http.Error(w, "file unavailable", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", o.Produces)
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	h.Set("Content-Disposition", `attachment; filename="`+f.Name+`"`)
	w.WriteHeader(o.Status)
	if r.Method != http.MethodHead {
		io.Copy(w, body)
	}
}
