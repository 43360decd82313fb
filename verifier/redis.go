package verifier

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Redis key layout. Every key starts with redisPrefix; the braces are
// Redis Cluster hash tags, so that a request and its verdict, which one
// script writes together, live in one slot.
const (
	redisPrefix = "yinzheng:"
	// redisTimeout bounds one round trip: a store that does not answer
	// is down, and the verifier answers 503 instead of hanging.
	redisTimeout = 2 * time.Second
)

func redisRequestKey(id string) string { return redisPrefix + "{" + id + "}:request" }
func redisVerdictKey(id string) string { return redisPrefix + "{" + id + "}:verdict" }
func redisMarkKey(issuer string) string {
	return redisPrefix + "mark:{" + issuer + "}"
}

// consumeScript removes the request and writes its verdict in one step on
// the server: Redis runs a script atomically, so of concurrent consumes of
// one request exactly one sees DEL return 1. No read-then-write race is
// left to the clients.
var consumeScript = redis.NewScript(`
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1
`)

// advanceScript is a compare-and-set of an issuer's marks: it refuses a
// value below its mark before writing anything, and only ever raises a
// mark. The marks are fixed-width decimal strings (markString), so that
// string comparison is numeric comparison and no value goes through Lua's
// doubles. It returns {} when done, or {field, mark} when refused.
var advanceScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'epoch', 'status_iat')
local e, s = cur[1], cur[2]
if ARGV[1] ~= '' and e and ARGV[1] < e then return {'epoch', e} end
if ARGV[2] ~= '' and s and ARGV[2] < s then return {'status_iat', s} end
if ARGV[1] ~= '' and (not e or ARGV[1] > e) then redis.call('HSET', KEYS[1], 'epoch', ARGV[1]) end
if ARGV[2] ~= '' and (not s or ARGV[2] > s) then redis.call('HSET', KEYS[1], 'status_iat', ARGV[2]) end
return {}
`)

// markString writes a mark as 20 decimal digits; an issue time is offset
// by 2^63 so that negative times order below positive ones too.
func markString(v uint64) string { return fmt.Sprintf("%020d", v) }

func statusMark(iat int64) uint64 { return uint64(iat) ^ (1 << 63) }

// RedisStore is the Store that replicas share: Redis, or Valkey, which
// speaks the same protocol. Requests and verdicts expire as Redis keys;
// consuming a request and advancing a mark are Lua scripts, atomic on the
// server. Durability is the server's: run it with the append-only file
// (appendonly yes, appendfsync everysec or always; the README's "Running a
// fleet" says what a lost second means).
type RedisStore struct {
	client *redis.Client
	trips  atomic.Uint64
	nanos  atomic.Int64
}

// OpenRedisStore returns a store on the Redis server named by rawURL,
// redis://[user[:password]@]host[:port][/db] or rediss://… for TLS.
// password, when not empty, is used if the URL carries none, so that it
// need not appear on a command line. The password is never part of an
// error. OpenRedisStore does not wait for the server: while it is down
// every operation fails with ErrStoreUnavailable, and works again when it
// is back.
func OpenRedisStore(rawURL, password string) (*RedisStore, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse's message quotes the URL, password included.
		return nil, errors.New("verifier: the Redis URL does not parse")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("verifier: the store URL's scheme is %q, want redis or rediss", u.Scheme)
	}
	opts, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("verifier: Redis URL of %s: %s", u.Redacted(), redactPassword(err.Error(), u))
	}
	if opts.Password == "" {
		opts.Password = password
	}
	opts.Protocol = 2
	opts.DisableIdentity = true
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	opts.DialTimeout = redisTimeout
	opts.ReadTimeout = redisTimeout
	opts.WriteTimeout = redisTimeout
	// No retries by the client: a consume whose answer was lost must not
	// run again unseen. The verifier answers 503 and the caller retries.
	opts.MaxRetries = -1
	quietOnce.Do(func() { redis.SetLogger(quietLogger{}) })
	s := &RedisStore{client: redis.NewClient(opts)}
	s.client.AddHook(tripHook{s})
	return s, nil
}

// redactPassword removes the URL's password from a message.
func redactPassword(msg string, u *url.URL) string {
	if p, ok := u.User.Password(); ok && p != "" {
		return strings.ReplaceAll(msg, p, "xxxxx")
	}
	return msg
}

// quietOnce silences go-redis's own logging (it is process-wide): its
// dial failures while the server is down would flood stderr, and the
// verifier reports every failure that matters as an error itself.
var quietOnce sync.Once

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// RedisStats counts the store's round trips to the server.
type RedisStats struct {
	// RoundTrips is the number of commands sent (a script is one).
	RoundTrips uint64
	// Time is the time spent waiting for their answers, summed.
	Time time.Duration
}

// Stats returns the round trips made so far.
func (s *RedisStore) Stats() RedisStats {
	return RedisStats{RoundTrips: s.trips.Load(), Time: time.Duration(s.nanos.Load())}
}

// tripHook counts and times every command.
type tripHook struct{ s *RedisStore }

func (h tripHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h tripHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.s.trips.Add(1)
		h.s.nanos.Add(int64(time.Since(start)))
		return err
	}
}
func (h tripHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// Close closes the connections.
func (s *RedisStore) Close() error { return s.client.Close() }

func redisUnavailable(err error) error {
	return unavailable(fmt.Errorf("redis: %w", err))
}

// Ping checks that the server answers (a server still loading its
// append-only file answers with an error).
func (s *RedisStore) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return redisUnavailable(err)
	}
	return nil
}

func (s *RedisStore) PutRequest(ctx context.Context, id string, record []byte, ttl time.Duration) error {
	ok, err := s.client.SetNX(ctx, redisRequestKey(id), record, ttl).Result()
	if err != nil {
		return redisUnavailable(err)
	}
	if !ok {
		return fmt.Errorf("verifier: recording request: %w", errIDTaken)
	}
	return nil
}

func (s *RedisStore) get(ctx context.Context, key string) ([]byte, error) {
	data, err := s.client.Get(ctx, key).Bytes()
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, redis.Nil):
		return nil, ErrUnknownRequest
	default:
		return nil, redisUnavailable(err)
	}
}

func (s *RedisStore) GetRequest(ctx context.Context, id string) ([]byte, error) {
	return s.get(ctx, redisRequestKey(id))
}

func (s *RedisStore) GetVerdict(ctx context.Context, id string) ([]byte, error) {
	return s.get(ctx, redisVerdictKey(id))
}

func (s *RedisStore) ConsumeRequest(ctx context.Context, id string, verdict []byte, ttl time.Duration) error {
	ms := ttl.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	n, err := consumeScript.Run(ctx, s.client, []string{redisRequestKey(id), redisVerdictKey(id)},
		verdict, strconv.FormatInt(ms, 10)).Int()
	if err != nil {
		return redisUnavailable(err)
	}
	if n != 1 {
		return ErrUnknownRequest
	}
	return nil
}

func (s *RedisStore) AdvanceMarks(ctx context.Context, issuer string, epoch *uint64, statusIssuedAt *int64) error {
	var e, st string
	if epoch != nil {
		e = markString(*epoch)
	}
	if statusIssuedAt != nil {
		st = markString(statusMark(*statusIssuedAt))
	}
	out, err := advanceScript.Run(ctx, s.client, []string{redisMarkKey(issuer)}, e, st).StringSlice()
	if err != nil {
		return redisUnavailable(err)
	}
	if len(out) == 0 {
		return nil
	}
	if len(out) != 2 {
		return redisUnavailable(fmt.Errorf("mark script answered %d values", len(out)))
	}
	have, err := strconv.ParseUint(out[1], 10, 64)
	if err != nil {
		return redisUnavailable(fmt.Errorf("mark %s: %w", out[0], err))
	}
	switch {
	case out[0] == "epoch" && epoch != nil:
		return epochRolledBack(issuer, *epoch, have)
	case out[0] == "status_iat" && statusIssuedAt != nil:
		return statusRolledBack(*statusIssuedAt, int64(have^(1<<63)))
	default:
		return redisUnavailable(fmt.Errorf("mark script refused %q", out[0]))
	}
}
