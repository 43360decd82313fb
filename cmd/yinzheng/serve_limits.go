package main

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
)

// limitFlags are the services' connection cap and per-client rate.
type limitFlags struct {
	maxConns int
	rate     float64
	origins  []string // browser page origins allowed to read answers (CORS)
}

func (l *limitFlags) register(fs interface {
	Func(string, string, func(string) error)
}) {
	l.maxConns, l.rate = httpserv.DefaultMaxConns, httpserv.DefaultRate
	fs.Func("allow-origin", "a browser page origin (scheme://host[:port], or *) that may read the answers, such as the browser wallet's; repeatable", func(s string) error {
		if s != "*" {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
				return errors.New("want an origin: scheme://host[:port]")
			}
		}
		l.origins = append(l.origins, s)
		return nil
	})
	fs.Func("max-conns", fmt.Sprintf("most connections open at once; more wait to be accepted (default %d)", httpserv.DefaultMaxConns), func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return errors.New("want a whole number of connections, at least 1")
		}
		l.maxConns = n
		return nil
	})
	fs.Func("rate", fmt.Sprintf("requests per second one client address may make to public endpoints, bursts of twice that; 0: no limit (default %d)", httpserv.DefaultRate), func(s string) error {
		r, err := strconv.ParseFloat(s, 64)
		if err != nil || r < 0 || math.IsInf(r, 0) || math.IsNaN(r) {
			return errors.New("want a number of requests per second, 0 or more")
		}
		l.rate = r
		return nil
	})
}

// apply sets the limits in cfg.
func (l limitFlags) apply(cfg httpserv.Config) httpserv.Config {
	cfg.MaxConns = l.maxConns
	cfg.AllowOrigins = l.origins
	cfg.Rate, cfg.Burst = l.rate, int(math.Ceil(2*l.rate))
	if l.rate == 0 {
		cfg.Rate = -1 // no limit
	}
	return cfg
}
