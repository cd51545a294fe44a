package tencentchat

import (
	"context"
	"encoding/json"
	"errors"
)

// APIPath is the path of get_official_account_info.
const APIPath = "/v4/official_account_open_http_svc/get_official_account_info"

// Result is what an answer said of one requested account.
type Result struct {
	ID       string // the account asked for
	Answered bool   // the answer listed this account; Info is zero otherwise
	Info     AccountInfo
	Err      error // the account's item was malformed; Info is zero
}

// Batch is a prepared request for some accounts: its body is built once,
// so a batch that is asked for on every scrape costs no encoding. The API
// takes at most 50 accounts a call and answers more with an error code;
// the configuration enforces the limit.
type Batch struct {
	ids  []string
	body []byte
}

// Len is the number of accounts in the batch.
func (b *Batch) Len() int { return len(b.ids) }

// NewBatch prepares a request for ids with a ResponseFilter of fields (all
// fields when empty).
func NewBatch(ids []string, fields []Field) (*Batch, error) {
	if len(ids) == 0 {
		return nil, errors.New("no accounts to ask for")
	}
	body, err := requestBody(ids, fields)
	if err != nil {
		return nil, err
	}
	return &Batch{ids: ids, body: body}, nil
}

// Fetch calls get_official_account_info for a batch and writes what the
// answer said of each account into out (one per account, in the batch's
// order), so a caller that keeps every account's result decodes straight
// into it. A request-level failure is an *Error and leaves out untouched.
// otherCodes are the non-zero ErrorCodes of items that could not be matched
// to a requested account: they count for the app. pace, if not nil, is
// waited on before every HTTP call, retries included, besides the app's
// limiter (a background refresh's pace). observe, if not nil, is told of
// every HTTP call, retries included.
func (c *Client) Fetch(ctx context.Context, b *Batch, out []Result, pace Waiter, observe func(Attempt)) (otherCodes []int, err error) {
	if len(out) != len(b.ids) {
		return nil, errors.New("result slice does not match the batch")
	}
	env := &envelope{OfficialAccountInfoList: make(itemList, 0, len(b.ids)), asked: len(b.ids)}
	if err := c.do(ctx, APIOfficialAccountInfo, APIPath, b.body, env, pace, observe); err != nil {
		return nil, err
	}
	return matchResults(b.ids, env.OfficialAccountInfoList, out), nil
}

type requestAccount struct {
	ID string `json:"Official_Account"`
}

type requestFilter struct {
	Fields []Field `json:"OfficialAccountBaseInfoFilter"`
}

type request struct {
	IDs    []requestAccount `json:"OfficialAccountIdList"`
	Filter *requestFilter   `json:"ResponseFilter,omitempty"`
}

func requestBody(ids []string, fields []Field) ([]byte, error) {
	req := request{IDs: make([]requestAccount, len(ids))}
	for i, id := range ids {
		req.IDs[i].ID = id
	}
	if len(fields) > 0 {
		req.Filter = &requestFilter{Fields: fields}
	}
	return json.Marshal(req)
}

// matchResults lines the answer up with the request, into out. Neither the
// order of the items nor that error items carry Official_Account is
// documented, so items are matched by ID; an item without one takes its
// position only when the answer has exactly one item per requested account
// and no other item claimed that account. Anything else stays unmatched: a
// value is never attached to an account it may not belong to.
func matchResults(ids []string, items itemList, out []Result) (other []int) {
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		out[i] = Result{ID: id}
		index[id] = i
	}
	take := func(i int, it *item) {
		r := &out[i]
		r.Answered = true
		if it.Err != nil {
			r.Err = it.Err
		} else {
			r.Info = it.AccountInfo
		}
	}
	unmatched := func(it *item) {
		if it.Err == nil && it.ErrorCode.V != 0 {
			other = append(other, int(it.ErrorCode.V))
		}
	}
	var idless []int // positions of items without an ID
	for j := range items {
		it := &items[j]
		if it.OfficialAccount == "" {
			idless = append(idless, j)
			continue
		}
		if i, ok := index[it.OfficialAccount]; ok && !out[i].Answered {
			// The request's own ID string, so the decoded copy is not
			// kept alive for as long as the result.
			it.OfficialAccount = ids[i]
			take(i, it)
			continue
		}
		unmatched(it)
	}
	for _, j := range idless {
		if len(items) == len(ids) && !out[j].Answered {
			take(j, &items[j])
			continue
		}
		unmatched(&items[j])
	}
	return other
}
