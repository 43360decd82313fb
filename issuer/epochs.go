package issuer

import (
	"context"
	"errors"
	"time"

	"github.com/yinzheng-id/yinzheng/publication"
	"github.com/yinzheng-id/yinzheng/revocation"
)

// EpochScheduler publishes an issuer's epochs on a fixed interval: each
// epoch carries every issuance and revocation of its interval, and an
// interval without any still gets a heartbeat epoch, so that the latest
// root and the status list stay fresh and the cadence of epochs says
// nothing about the issuer's activity. The interval counts from the last
// published epoch, whoever published it (a scheduler, `issuer publish`, or
// Init).
type EpochScheduler struct {
	// Issuer is the open issuer directory.
	Issuer *Issuer
	// Interval between epochs; zero means publication.DefaultEpochInterval.
	Interval time.Duration
	// Report, when set, is told of every epoch published and every failure.
	Report func(e *revocation.Epoch, err error)
}

// Due returns when the next epoch is due: Interval after the latest one.
func (s *EpochScheduler) Due() (time.Time, error) {
	iss := s.Issuer
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if iss.closed {
		return time.Time{}, ErrClosed
	}
	return iss.latestAt.Add(s.interval()), nil
}

// Tick publishes an epoch if one is due at now, and returns it (nil when
// none was due). Run calls it; tests call it with a clock of their own.
func (s *EpochScheduler) Tick(now time.Time) (*revocation.Epoch, error) {
	due, err := s.Due()
	if err != nil {
		return nil, err
	}
	if now.Before(due) {
		return nil, nil
	}
	return s.Issuer.Publish()
}

// Run publishes the due epochs until ctx ends, then returns ctx's error,
// reading time from the issuer's clock (the one its statements carry). A
// failed publication is reported and retried after a minute (or Interval,
// if shorter); Run stops early only when the issuer is closed.
func (s *EpochScheduler) Run(ctx context.Context) error {
	retry := min(time.Minute, s.interval())
	wait := time.Duration(0)
	for {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		e, err := s.Tick(s.Issuer.now())
		if e != nil || err != nil {
			s.report(e, err)
		}
		if errors.Is(err, ErrClosed) {
			return err
		}
		if err != nil {
			wait = retry
			continue
		}
		due, err := s.Due()
		if err != nil {
			return err
		}
		wait = max(due.Sub(s.Issuer.now()), 0)
	}
}

func (s *EpochScheduler) interval() time.Duration {
	if s.Interval <= 0 {
		return publication.DefaultEpochInterval
	}
	return s.Interval
}

func (s *EpochScheduler) report(e *revocation.Epoch, err error) {
	if s.Report != nil {
		s.Report(e, err)
	}
}
