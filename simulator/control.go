package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Mux serves the simulated API at every path of its route table and,
// with control, the control API under /simulator/, as the
// tencentchat-simulator command and the exporter's demo mode both serve
// it. The control API is for loopback use only.
func (s *Simulator) Mux(control bool) *http.ServeMux {
	mux := http.NewServeMux()
	for path := range routes {
		mux.Handle(path, s)
	}
	if control {
		mux.Handle("/simulator/", s.ControlHandler())
	}
	return mux
}

// ControlHandler serves a small JSON API for driving the simulator from
// another process (end-to-end tests, demos). Mount it under /simulator/:
//
//	GET  /simulator/apps/{sdkappid}/accounts            every account's data
//	POST /simulator/apps/{sdkappid}/account?id=ID       change one account: {"Subscribers":1,"Terminated":true}
//	GET  /simulator/apps/{sdkappid}/faults              the app's faults
//	PUT  /simulator/apps/{sdkappid}/faults              replace them: {"Latency":"50ms","ServiceDisabled":true,"Rates":{"http502":0.5}}
//	GET  /simulator/apps/{sdkappid}/stats               call counts
//
// It has no authentication: bind the simulator to loopback.
func (s *Simulator) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /simulator/apps/{app}/accounts", s.withApp(func(w http.ResponseWriter, r *http.Request, a *App) {
		writeJSON(w, a.Accounts())
	}))
	mux.HandleFunc("POST /simulator/apps/{app}/account", s.withApp(func(w http.ResponseWriter, r *http.Request, a *App) {
		var change struct {
			Subscribers *int64
			LastMsgTime *int64
			Terminated  *bool
		}
		if err := json.NewDecoder(r.Body).Decode(&change); err != nil {
			http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		var overCap bool
		ok := a.Update(r.URL.Query().Get("id"), func(acct *Account) {
			if change.Subscribers != nil {
				// Tencent refuses subscriptions beyond the cap.
				if overCap = *change.Subscribers > acct.MaxSubscribers; overCap {
					return
				}
				acct.Subscribers = *change.Subscribers
			}
			if change.LastMsgTime != nil {
				acct.LastMsgTime = *change.LastMsgTime
			}
			if change.Terminated != nil {
				acct.Terminated = *change.Terminated
			}
		})
		if !ok {
			http.Error(w, "no such account", http.StatusNotFound)
			return
		}
		if overCap {
			http.Error(w, "Subscribers beyond the account's MaxSubscribers: Tencent would refuse the subscriptions", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("GET /simulator/apps/{app}/faults", s.withApp(func(w http.ResponseWriter, r *http.Request, a *App) {
		f := a.Faults()
		writeJSON(w, faultsJSON{Latency: f.Latency.String(), LatencyJitter: f.LatencyJitter.String(),
			RateLimit: f.RateLimit, ServiceDisabled: f.ServiceDisabled, ErrorCode: f.ErrorCode, Rates: f.Rates})
	}))
	mux.HandleFunc("PUT /simulator/apps/{app}/faults", s.withApp(func(w http.ResponseWriter, r *http.Request, a *App) {
		var in faultsJSON
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		f, err := in.faults()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.SetFaults(f)
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("GET /simulator/apps/{app}/stats", s.withApp(func(w http.ResponseWriter, r *http.Request, a *App) {
		writeJSON(w, a.Stats())
	}))
	return mux
}

type faultsJSON struct {
	Latency         string                `json:",omitempty"`
	LatencyJitter   string                `json:",omitempty"`
	RateLimit       int                   `json:",omitempty"`
	ServiceDisabled bool                  `json:",omitempty"`
	ErrorCode       int                   `json:",omitempty"`
	Rates           map[FaultKind]float64 `json:",omitempty"`
}

func (in faultsJSON) faults() (Faults, error) {
	f := Faults{RateLimit: in.RateLimit, ServiceDisabled: in.ServiceDisabled, ErrorCode: in.ErrorCode}
	for _, d := range []struct {
		text string
		dst  *time.Duration
	}{{in.Latency, &f.Latency}, {in.LatencyJitter, &f.LatencyJitter}} {
		if d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil || v < 0 {
			return Faults{}, fmt.Errorf("bad duration %q", d.text)
		}
		*d.dst = v
	}
	if len(in.Rates) > 0 {
		f.Rates = map[FaultKind]float64{}
		for k, r := range in.Rates {
			if _, _, err := ParseFault(string(k)); err != nil {
				return Faults{}, err
			}
			if r < 0 || r > 1 {
				return Faults{}, fmt.Errorf("fault %q: rate must be from 0 to 1", k)
			}
			f.Rates[k] = r
		}
	}
	return f, nil
}

func (s *Simulator) withApp(h func(http.ResponseWriter, *http.Request, *App)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseUint(r.PathValue("app"), 10, 64)
		a := s.App(id)
		if err != nil || a == nil {
			http.Error(w, "no such app", http.StatusNotFound)
			return
		}
		h(w, r, a)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
