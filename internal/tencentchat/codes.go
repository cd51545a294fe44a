package tencentchat

// DocumentedCodes are the ErrorCodes the reference lists for this API, the
// common REST codes and the UserSig codes. The exporter starts a counter at
// 0 for each, so that an alert on the increase of one fires on its very
// first occurrence; any other code is counted as "other", so an API (or a
// proxy) sending fresh codes cannot grow the series without bound.
var DocumentedCodes = [...]int{
	// get_official_account_info, and the generic internal errors of other
	// IM APIs (10002, 20004)
	6017, 10002, 10004, 20001, 20004, 20005, 130002, 130004, 130007, 131000,
	// common REST codes
	60002, 60003, 60004, 60005, 60006, 60007, 60008, 60009, 60010, 60011, 60012,
	60013, 60014, 60015, 60016, 60017, 60018, 60019, 60020, 60021,
	// UserSig and account
	70001, 70003, 70009, 70013, 70014, 70016, 70020, 70050, 70051, 70107,
}

// RateLimitCodes are the ErrorCodes Tencent answers when calls come too
// fast. They are retried with a longer backoff (as HTTP 429 is), and the
// mixin's TencentChatAPIRateLimited alert matches exactly these (a test
// keeps the two equal).
var RateLimitCodes = [...]int{60007, 60011, 60018, 60019}

// AccountCode tells the codes that speak of one official account rather
// than of the call (the 130xxx family: 130004 an account that does not
// exist or was deleted, 130007 a malformed ID). 131000, the service not
// enabled, is the app's.
func AccountCode(code int) bool { return code >= 130000 && code < 131000 }
