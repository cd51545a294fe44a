package collector

import "github.com/prometheus/client_golang/prometheus"

// Every metric the exporter serves is born in this file or in the
// go/process/version collectors wired in main.go. The account series are
// written in emit.go, the statistics there too, the reload gauges in
// exporter.go.

const namespace = "tencentchat"

var (
	accountLabels   = []string{"sdkappid", "app_name", "account", "name", "owner_account"}
	accountUpLabels = []string{"sdkappid", "app_name", "account"}
	appLabels       = []string{"sdkappid", "app_name"}

	subscribersDesc = prometheus.NewDesc(subscribersName, subscribersHelp, accountLabels, nil)
	lastMessageDesc = prometheus.NewDesc(lastMessageName, lastMessageHelp, accountLabels, nil)
	creationDesc    = prometheus.NewDesc(creationName, creationHelp, accountLabels, nil)
	limitDesc       = prometheus.NewDesc(limitName, limitHelp, accountLabels, nil)
	lastPubDesc     = prometheus.NewDesc(lastPubName, lastPubHelp, accountLabels, nil)
	publishedDesc   = prometheus.NewDesc(publishedName, publishedHelp, accountLabels, nil)
	accountUpDesc   = prometheus.NewDesc(accountUpName, accountUpHelp, accountUpLabels, nil)

	upDesc = prometheus.NewDesc(namespace+"_up",
		"1 if every API call of this scrape for the app (with refresh_interval: of its last background refresh) was answered with ErrorCode 0 (account-level codes do not count).", appLabels, nil)
	scrapeDurationDesc = prometheus.NewDesc(namespace+"_scrape_duration_seconds",
		"Time the fetch of the app's official accounts took: this scrape's, or with refresh_interval the last background refresh's.", appLabels, nil)
	requestsDesc = prometheus.NewDesc(namespace+"_api_requests_total",
		"API calls made for the app, retries included, by api: get_official_account_info, getappinfo where app_statistics is on, official_account_msg_get_simple where publishing_activity is on, and normal_push_statistics where push_statistics is on.",
		append(appLabels[:len(appLabels):len(appLabels)], "api"), nil)
	errorsDesc = prometheus.NewDesc(namespace+"_api_errors_total",
		"Non-zero Tencent ErrorCodes seen for the app, request-level and account-level; every documented code starts at 0, any other is counted as code=\"other\".",
		append(appLabels[:len(appLabels):len(appLabels)], "api", "code"), nil)
	invalidDesc = prometheus.NewDesc(namespace+"_api_invalid_values_total",
		"Values in the app's answers that could not be used: a malformed account item (the account is down for that scrape), an implausible value (a negative count, a time beyond the year 3000), or an app statistic that is missing or not a number (left out).",
		appLabels, nil)
	missingDesc = prometheus.NewDesc(namespace+"_api_accounts_missing_total",
		"Accounts that an answer with ErrorCode 0 left out: no item named them (the account is down for that scrape).",
		appLabels, nil)
	rateLimitDesc = prometheus.NewDesc(namespace+"_api_rate_limit_requests_per_second",
		"The app's rate_limit: API calls per second the exporter allows itself for the app, retries included; 0 is unlimited. Tencent allows 200 per second per app, shared with the app's own backend.",
		appLabels, nil)
	limiterWaitDesc = prometheus.NewDesc(namespace+"_api_rate_limiter_wait_seconds_total",
		"Time the app's API calls waited for its rate_limit before they were sent, summed over the calls: calls that wait at once each add their wait, so it can grow faster than wall time.", appLabels, nil)
	refreshTimeDesc = prometheus.NewDesc(namespace+"_last_refresh_timestamp_seconds",
		"Unix time the app's last background refresh ended: when the data served was fetched. Only for apps with refresh_interval, whose scrapes are answered from that refresh.",
		appLabels, nil)
	refreshDurationDesc = prometheus.NewDesc(namespace+"_last_refresh_duration_seconds",
		"How long the app's last background refresh took (its calls are paced over up to half the interval).", appLabels, nil)
	refreshIntervalDesc = prometheus.NewDesc(namespace+"_refresh_interval_seconds",
		"The app's refresh_interval: how often it is fetched in the background.", appLabels, nil)
	failuresDesc = prometheus.NewDesc(namespace+"_api_request_failures_total",
		"API calls for the app that got no usable answer, by reason: timeout, network, http_status, decode.",
		append(appLabels[:len(appLabels):len(appLabels)], "api", "reason"), nil)
)

// The per-account families, which emit.go also writes directly.
const (
	subscribersName = namespace + "_official_account_subscribers"
	subscribersHelp = "Subscribers of the official account (SubscriberNum). With the app's refresh_interval set, from its last background refresh (tencentchat_last_refresh_timestamp_seconds)."
	lastMessageName = namespace + "_official_account_last_message_timestamp_seconds"
	lastMessageHelp = "Unix time of the official account's last message (LastMsgTime); absent while it never sent one. With the app's refresh_interval set, from its last background refresh."
	creationName    = namespace + "_official_account_creation_timestamp_seconds"
	creationHelp    = "Unix time the official account was created (CreateTime); absent when 0."
	limitName       = namespace + "_official_account_subscriber_limit"
	limitHelp       = "The official account's cap of subscribers (MaxSubscriberNum) as configured (max_subscribers, default Tencent's 100000): not read from Tencent, whose API does not return it. Set for every account with a subscriber value."
	lastPubName     = namespace + "_official_account_last_published_timestamp_seconds"
	lastPubHelp     = "Unix time of the official account's newest published message (MsgTimeStamp, from official_account_msg_get_simple; placeholders of recalled or expired messages skipped), with publishing_activity on; absent while it never published."
	publishedName   = namespace + "_official_account_published_messages"
	publishedHelp   = "The official account's newest published message's sequence number (MsgSeq): how many messages it has published, with publishing_activity on; absent while it never published."
	accountUpName   = namespace + "_official_account_up"
	accountUpHelp   = "1 if the official account's information was fetched in this scrape (or, with refresh_interval, in the last background refresh); 0 if it had its own error code, was left out of the answer, or its batch failed."
)

// Every API call's duration, by api: a histogram per app (counters.go).
const (
	durationName = namespace + "_api_request_duration_seconds"
	durationHelp = "Duration of the app's API calls, retries each counted, by api."
)

var durationBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// The reload gauges (Exporter.ReloadMetrics).
const (
	reloadSuccessName = namespace + "_exporter_config_last_reload_successful"
	reloadSuccessHelp = "1 if the last configuration load succeeded."
	reloadTimeName    = namespace + "_exporter_config_last_reload_success_timestamp_seconds"
	reloadTimeHelp    = "Unix time of the last successful configuration load."
)

// App statistics from getappinfo: the values of the most recent complete
// (Beijing) day, labels sdkappid and app_name, chat_type where it applies.
var (
	chatTypeLabels = append(appLabels[:len(appLabels):len(appLabels)], "chat_type")

	statsMetrics = []struct {
		desc     *prometheus.Desc
		field    string // getappinfo's field
		chatType string // "" for metrics without the label
	}{
		{statsDesc("daily_active_users", "Daily active users (ActiveUserNum)", appLabels), "ActiveUserNum", ""},
		{statsDesc("daily_new_users", "Users registered that day (RegistUserNumOneDay)", appLabels), "RegistUserNumOneDay", ""},
		{statsDesc("registered_users", "Users registered in all, at the end of the day (RegistUserNumTotal)", appLabels), "RegistUserNumTotal", ""},
		{statsDesc("daily_logins", "Logins that day (LoginTimes)", appLabels), "LoginTimes", ""},
		{statsDesc("daily_login_users", "Users who logged in that day (LoginUserNum)", appLabels), "LoginUserNum", ""},
		{statsDesc("daily_max_online_users", "Most users online at once that day (MaxOnlineNum)", appLabels), "MaxOnlineNum", ""},
		{messagesSentDesc, "C2CUpMsgNum", "c2c"},
		{messagesSentDesc, "GroupUpMsgNum", "group"},
		{messagesDeliveredDesc, "C2CDownMsgNum", "c2c"},
		{messagesDeliveredDesc, "GroupDownMsgNum", "group"},
		{messageSendersDesc, "C2CSendMsgUserNum", "c2c"},
		{messageSendersDesc, "GroupSendMsgUserNum", "group"},
		{pushMessagesDesc, "C2CAPNSMsgNum", "c2c"},
		{pushMessagesDesc, "GroupAPNSMsgNum", "group"},
		{statsDesc("groups", "Groups in all, at the end of the day (GroupAllGroupNum)", appLabels), "GroupAllGroupNum", ""},
		{statsDesc("daily_groups_created", "Groups created that day (GroupNewGroupNum)", appLabels), "GroupNewGroupNum", ""},
		{statsDesc("daily_groups_destroyed", "Groups destroyed that day (GroupDestroyGroupNum)", appLabels), "GroupDestroyGroupNum", ""},
		{statsDesc("daily_group_joins", "Group joins that day (GroupJoinGroupTimes)", appLabels), "GroupJoinGroupTimes", ""},
		{statsDesc("daily_group_quits", "Group quits that day (GroupQuitGroupTimes)", appLabels), "GroupQuitGroupTimes", ""},
		{statsDesc("daily_callback_requests", "Callbacks sent to the app's server that day (CallBackReq)", appLabels), "CallBackReq", ""},
		{statsDesc("daily_callback_responses", "Callbacks the app's server answered that day (CallBackRsp)", appLabels), "CallBackRsp", ""},
		{statsDesc("daily_unique_message_senders", "Users who sent any message that day, each counted once across chat types (SendMsgUserNum): not the sum of tencentchat_app_daily_message_senders' chat types, since a user may send in both", appLabels), "SendMsgUserNum", ""},
		{statsDesc("daily_friendships_added", "Friend relationships (pairs of users) added that day (ChainIncrease)", appLabels), "ChainIncrease", ""},
		{statsDesc("daily_friendships_removed", "Friend relationships (pairs of users) removed that day (ChainDecrease)", appLabels), "ChainDecrease", ""},
		{statsDesc("daily_groups_with_messages", "Groups in which any message was sent that day (GroupSendMsgGroupNum)", appLabels), "GroupSendMsgGroupNum", ""},
	}
	messagesSentDesc      = statsDesc("daily_messages_sent", "Messages sent that day, by chat_type (C2CUpMsgNum, GroupUpMsgNum)", chatTypeLabels)
	messagesDeliveredDesc = statsDesc("daily_messages_delivered", "Messages delivered that day, by chat_type (C2CDownMsgNum, GroupDownMsgNum)", chatTypeLabels)
	messageSendersDesc    = statsDesc("daily_message_senders", "Users who sent messages that day, by chat_type (C2CSendMsgUserNum, GroupSendMsgUserNum)", chatTypeLabels)
	pushMessagesDesc      = statsDesc("daily_push_messages", "Offline push messages that day, by chat_type (C2CAPNSMsgNum, GroupAPNSMsgNum)", chatTypeLabels)

	statsDayDesc = prometheus.NewDesc(namespace+"_app_statistics_day_timestamp_seconds",
		"Unix time of 00:00 (UTC+8) of the day the app statistics are of: the most recent complete day in getappinfo's answer.", appLabels, nil)
	statsRefreshDesc = prometheus.NewDesc(namespace+"_app_statistics_last_refresh_timestamp_seconds",
		"Unix time the app statistics were last fetched successfully.", appLabels, nil)
	pushDesc = prometheus.NewDesc(namespace+"_app_daily_push_notifications",
		"The app's offline push funnel for the most recent complete day (Beijing time), from normal_push_statistics, by stage: eligible (TotalCount), sent, delivered (to the device), clicked. With push_statistics.",
		append(appLabels[:len(appLabels):len(appLabels)], "stage"), nil)
	pushByPlatformDesc = prometheus.NewDesc(namespace+"_app_daily_push_notifications_by_platform",
		"The same funnel by push platform (PlatformStatistics: apns, xiaomi, huawei, fcm, meizu, oppo, vivo, honor, unknown; another code as code_N), by stage.",
		append(appLabels[:len(appLabels):len(appLabels)], "platform", "stage"), nil)
	pushDayDesc = prometheus.NewDesc(namespace+"_app_push_statistics_day_timestamp_seconds",
		"Unix time of 00:00 (UTC+8) of the day the push funnel is of.", appLabels, nil)
	statsIntervalDesc = prometheus.NewDesc(namespace+"_app_statistics_interval_seconds",
		"The app's app_statistics_interval: how often its statistics are refreshed.", appLabels, nil)
)

// statsFields are the getappinfo fields the statistics keep.
var statsFields = func() []string {
	out := make([]string, len(statsMetrics))
	for i, m := range statsMetrics {
		out[i] = m.field
	}
	return out
}()

func statsDesc(name, help string, labels []string) *prometheus.Desc {
	return prometheus.NewDesc(namespace+"_app_"+name, help+", from getappinfo for the most recent complete day.", labels, nil)
}
