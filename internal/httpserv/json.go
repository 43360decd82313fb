package httpserv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/yinzheng-id/yinzheng/internal/strictjson"
)

// Error is an error with the HTTP status it should be answered with. Its
// message is shown to the client, so it must name the problem without
// echoing secrets or personal data.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Errorf returns an [*Error] with status and a formatted message.
func Errorf(status int, format string, a ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, a...)}
}

// WriteJSON answers with status and v encoded as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a programming error (an unencodable type) gets here.
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal error: response not encodable"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// WriteError answers with status and the JSON body {"error": msg}.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

// Fail answers with err: an [*Error] keeps its status and message, a body
// that exceeded the limit gets 413, anything else is logged (it may hold
// internal detail, never shown to the client) and answered with 500.
func Fail(w http.ResponseWriter, log *slog.Logger, err error) {
	var he *Error
	if errors.As(err, &he) {
		WriteError(w, he.Status, he.Msg)
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit))
		return
	}
	if log != nil {
		log.Error("internal error", "error", err.Error())
	}
	WriteError(w, http.StatusInternalServerError, "internal error")
}

// ReadBody reads the whole request body, which the server has already
// limited. An oversized body gives a 413 [*Error], an empty one a 400.
func ReadBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, Errorf(http.StatusBadRequest, "empty request body")
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, BodyError(err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, Errorf(http.StatusBadRequest, "empty request body")
	}
	return data, nil
}

// BodyError turns an error from reading or parsing the request body (for
// example from r.ParseForm) into an [*Error]: 413 when the body exceeded
// the limit, 400 otherwise.
func BodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return Errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", mbe.Limit)
	}
	return Errorf(http.StatusBadRequest, "reading request body: %v", err)
}

// DecodeJSON decodes the request body into v strictly: one JSON value, no
// unknown fields, nothing after it. Failures are [*Error]s naming the
// problem (400 malformed, 413 oversized).
func DecodeJSON(r *http.Request, v any) error {
	data, err := ReadBody(r)
	if err != nil {
		return err
	}
	return Unmarshal(data, v)
}

// Unmarshal is [DecodeJSON]'s strict decoding for bytes already read.
func Unmarshal(data []byte, v any) error {
	if err := strictjson.Unmarshal(data, 0, v); err != nil {
		return Errorf(http.StatusBadRequest, "malformed JSON: %v", err)
	}
	return nil
}
