package collector

import "github.com/prometheus/client_golang/prometheus"

// Every metric the exporter serves is born in this file or in the
// go/process/version collectors wired in main.go.

const namespace = "tencentchat"

var (
	accountLabels   = []string{"sdkappid", "app_name", "account", "name", "owner_account"}
	accountUpLabels = []string{"sdkappid", "app_name", "account"}
	appLabels       = []string{"sdkappid", "app_name"}

	subscribersDesc = prometheus.NewDesc(namespace+"_official_account_subscribers",
		"Subscribers of the official account (SubscriberNum). With the app's cache_ttl set, up to that old.", accountLabels, nil)
	lastMessageDesc = prometheus.NewDesc(namespace+"_official_account_last_message_timestamp_seconds",
		"Unix time of the official account's last message (LastMsgTime); absent while it never sent one. With the app's cache_ttl set, up to that old.", accountLabels, nil)
	creationDesc = prometheus.NewDesc(namespace+"_official_account_creation_timestamp_seconds",
		"Unix time the official account was created (CreateTime).", accountLabels, nil)
	accountUpDesc = prometheus.NewDesc(namespace+"_official_account_up",
		"1 if the official account's information was fetched in this scrape (or, with cache_ttl, in the cached one); 0 if it had its own error code or its batch failed.", accountUpLabels, nil)

	upDesc = prometheus.NewDesc(namespace+"_up",
		"1 if every API call of this scrape for the app was answered with ErrorCode 0 (account-level codes do not count).", appLabels, nil)
	scrapeDurationDesc = prometheus.NewDesc(namespace+"_scrape_duration_seconds",
		"Time this scrape spent fetching the app's official accounts.", appLabels, nil)
	requestsDesc = prometheus.NewDesc(namespace+"_api_requests_total",
		"API calls made for the app, retries included.", appLabels, nil)
	errorsDesc = prometheus.NewDesc(namespace+"_api_errors_total",
		"Non-zero Tencent ErrorCodes seen for the app, request-level and account-level; every documented code starts at 0, any other is counted as code=\"other\".",
		append(appLabels[:len(appLabels):len(appLabels)], "code"), nil)
	invalidDesc = prometheus.NewDesc(namespace+"_api_invalid_values_total",
		"Account items of the app's answers that could not be used: a malformed item (the account is down for that scrape) or an implausible value (a negative count, a time beyond the year 3000: left out).",
		appLabels, nil)
	failuresDesc = prometheus.NewDesc(namespace+"_api_request_failures_total",
		"API calls for the app that got no usable answer, by reason: timeout, network, http_status, decode.",
		append(appLabels[:len(appLabels):len(appLabels)], "reason"), nil)

	reloadSuccessDesc = prometheus.NewDesc(namespace+"_exporter_config_last_reload_successful",
		"1 if the last configuration load succeeded.", nil, nil)
	reloadTimeDesc = prometheus.NewDesc(namespace+"_exporter_config_last_reload_success_timestamp_seconds",
		"Unix time of the last successful configuration load.", nil, nil)
)

// scrapeDescs are the descriptors of a scrape's metrics, for Describe.
var scrapeDescs = []*prometheus.Desc{subscribersDesc, lastMessageDesc, creationDesc, accountUpDesc,
	upDesc, scrapeDurationDesc, requestsDesc, errorsDesc, invalidDesc, failuresDesc}
