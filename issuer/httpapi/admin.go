package httpapi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/yinzheng-id/yinzheng/internal/httpserv"
)

// MaxRevokeBatch bounds the serials of one POST /admin/revoke.
const MaxRevokeBatch = 100000

// admin wraps an admin handler with the admin token check, done before
// any other work (the routes are not rate limited).
func (s *Service) admin(h func(w http.ResponseWriter, r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.opts.AdminToken) == 0 {
			httpserv.WriteError(w, http.StatusNotFound, "the admin API is disabled: the service was started without an admin token")
			return
		}
		tok, ok := bearer(r)
		if !ok || subtle.ConstantTimeCompare(tok, s.opts.AdminToken) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="admin"`)
			httpserv.WriteError(w, http.StatusUnauthorized, "the admin API needs the admin token as a Bearer token")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r)
	})
}

// adminOffer enrols a subject: the body is the subject JSON, the answer an
// [Enrolment] (the offer link and the tx_code).
func (s *Service) adminOffer(w http.ResponseWriter, r *http.Request) {
	subject, err := httpserv.ReadBody(r)
	if err != nil {
		httpserv.Fail(w, nil, err)
		return
	}
	if err := s.iss.CheckSubject(subject); err != nil {
		if errors.Is(err, ErrInvalidInput) {
			httpserv.WriteError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		httpserv.Fail(w, s.srv.Logger(), err)
		return
	}
	e, err := s.enrol(subject)
	if err != nil {
		httpserv.Fail(w, s.srv.Logger(), err)
		return
	}
	httpserv.WriteJSON(w, http.StatusCreated, e)
}

// IssueRequest is the body of POST /admin/issue: a subject and the holder
// request it is issued to (the direct path of `issuer issue`).
type IssueRequest struct {
	Subject       json.RawMessage `json:"subject"`
	HolderRequest json.RawMessage `json:"holder_request"`
}

func (s *Service) adminIssue(w http.ResponseWriter, r *http.Request) {
	var req IssueRequest
	if err := httpserv.DecodeJSON(r, &req); err != nil {
		httpserv.Fail(w, nil, err)
		return
	}
	if len(req.Subject) == 0 || len(req.HolderRequest) == 0 {
		httpserv.WriteError(w, http.StatusBadRequest, "subject and holder_request are required")
		return
	}
	bundle, err := s.iss.Issue(r.Context(), req.Subject, req.HolderRequest)
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(bundle)
}

// RevokeRequest is the body of POST /admin/revoke.
type RevokeRequest struct {
	Serials []uint64 `json:"serials"`
}

// RevokeResponse answers POST /admin/revoke.
type RevokeResponse struct {
	Serials []uint64 `json:"serials"`
	Status  string   `json:"status"`
}

func (s *Service) adminRevoke(w http.ResponseWriter, r *http.Request) {
	var req RevokeRequest
	if err := httpserv.DecodeJSON(r, &req); err != nil {
		httpserv.Fail(w, nil, err)
		return
	}
	if len(req.Serials) == 0 || len(req.Serials) > MaxRevokeBatch {
		httpserv.Fail(w, nil, httpserv.Errorf(http.StatusBadRequest, "serials: 1 to %d serials", MaxRevokeBatch))
		return
	}
	if err := s.iss.Revoke(req.Serials); err != nil {
		s.fail(w, err)
		return
	}
	httpserv.WriteJSON(w, http.StatusOK, RevokeResponse{Serials: req.Serials, Status: "revoked"})
}

// DeleteRequest is the body of POST /admin/delete.
type DeleteRequest struct {
	Wanghao string `json:"wanghao"`
}

func (s *Service) adminDelete(w http.ResponseWriter, r *http.Request) {
	var req DeleteRequest
	if err := httpserv.DecodeJSON(r, &req); err != nil {
		httpserv.Fail(w, nil, err)
		return
	}
	res, err := s.iss.Delete(req.Wanghao)
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(res)
}

func (s *Service) adminPublish(w http.ResponseWriter, r *http.Request) {
	res, err := s.iss.Publish()
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(res)
}
