package main

import (
	"flag"
	"io"
	"testing"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
)

func parseLimits(t *testing.T, args ...string) (limitFlags, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var l limitFlags
	l.register(fs)
	return l, fs.Parse(args)
}

func TestLimitFlags(t *testing.T) {
	l, err := parseLimits(t)
	if err != nil {
		t.Fatal(err)
	}
	cfg := l.apply(httpserv.Config{})
	if cfg.MaxConns != httpserv.DefaultMaxConns || cfg.Rate != httpserv.DefaultRate || cfg.Burst != 2*httpserv.DefaultRate {
		t.Fatalf("defaults: %+v", cfg)
	}
	l, err = parseLimits(t, "--max-conns", "7", "--rate", "2.5")
	if err != nil {
		t.Fatal(err)
	}
	if cfg := l.apply(httpserv.Config{}); cfg.MaxConns != 7 || cfg.Rate != 2.5 || cfg.Burst != 5 {
		t.Fatalf("set: %+v", cfg)
	}
	l, err = parseLimits(t, "--rate", "0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg := l.apply(httpserv.Config{}); cfg.Rate >= 0 {
		t.Fatalf("--rate 0 should disable the limit: %+v", cfg)
	}
	for _, bad := range [][]string{{"--max-conns", "0"}, {"--max-conns", "x"}, {"--rate", "-1"}, {"--rate", "NaN"}, {"--rate", "Inf"}} {
		if _, err := parseLimits(t, bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
