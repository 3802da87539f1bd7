package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/keygate/keygate/backend/config"
)

func TestDataDirPrecedence(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("HOME", home)
	t.Setenv(config.EnvDataDir, "")
	got, err := config.DataDir("")
	if err != nil || got != filepath.Join(home, "keygate") {
		t.Fatalf("default: %q %v", got, err)
	}
	env := filepath.Join(home, "from-env")
	t.Setenv(config.EnvDataDir, env)
	if got, _ := config.DataDir(""); got != env {
		t.Fatalf("env: %q", got)
	}
	flag := filepath.Join(home, "from-flag")
	if got, _ := config.DataDir(flag); got != flag {
		t.Fatalf("flag: %q", got)
	}
	if got, _ := config.DataDir("relative"); !filepath.IsAbs(got) {
		t.Fatalf("relative dir not made absolute: %q", got)
	}
}

func TestDataDirThatIsAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	if _, err := config.DataDir(f); err == nil {
		t.Fatal("a file was accepted as data dir")
	}
}
