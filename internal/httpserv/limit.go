package httpserv

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Defaults for the connection cap and the per-client rate limit.
const (
	// DefaultMaxConns bounds open connections: each costs a goroutine and
	// buffers, and slow clients holding thousands of them starve the rest.
	DefaultMaxConns = 1024
	// DefaultRate is the sustained requests per second one client address
	// may make to rate-limited routes; DefaultBurst how many it may make at
	// once. A wallet refreshing or presenting makes a handful; the margin
	// is for addresses many people share (carrier-grade NAT). Server-to-
	// server clients (a relying party creating requests, a verifier reading
	// an issuer service) need a higher --rate, or none behind a proxy.
	DefaultRate  = 50
	DefaultBurst = 100
	// maxClients bounds the limiter's table of client addresses; beyond it
	// new addresses are refused until idle ones are swept.
	maxClients = 1 << 16
)

// limitListener caps the connections open at once. Accept waits for a free
// slot before accepting, so the connection beyond the cap waits in the
// kernel's backlog (and the client's connect timeout) rather than costing
// the server anything. It is golang.org/x/net/netutil.LimitListener's
// design in a few lines, to avoid a dependency for it.
type limitListener struct {
	net.Listener
	sem  chan struct{}
	done chan struct{}
	once sync.Once
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn frees its slot once, on the first Close.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// rateLimiter is a token bucket per client address. The address is the
// connection's peer (RemoteAddr), never a header such as X-Forwarded-For,
// which the client writes itself; behind a reverse proxy every client
// shares the proxy's address, so the proxy must limit instead.
type rateLimiter struct {
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time

	mu        sync.Mutex
	clients   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rate float64, burst int, now func() time.Time) *rateLimiter {
	return &rateLimiter{rate: rate, burst: float64(burst), now: now, clients: map[string]*bucket{}}
}

// allow takes a token for client, or says how long until one is free.
func (l *rateLimiter) allow(client string) (ok bool, retry time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute || len(l.clients) >= maxClients {
		l.sweep(now)
	}
	b, found := l.clients[client]
	if !found {
		if len(l.clients) >= maxClients {
			return false, time.Second
		}
		b = &bucket{tokens: l.burst, last: now}
		l.clients[client] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep forgets clients whose buckets have refilled: they are as new.
func (l *rateLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.clients {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.clients, k)
		}
	}
}

// clientAddr is the peer's IP address without the port.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limit answers 429 with Retry-After when the client is over its rate.
func (l *rateLimiter) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, retry := l.allow(clientAddr(r))
		if !ok {
			secs := int(math.Ceil(retry.Seconds()))
			if secs < 1 {
				secs = 1
			}
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			WriteError(w, http.StatusTooManyRequests, "too many requests from this address; retry after "+strconv.Itoa(secs)+" s")
			return
		}
		next.ServeHTTP(w, r)
	})
}
