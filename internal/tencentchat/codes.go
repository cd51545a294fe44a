package tencentchat

// DocumentedCodes are the ErrorCodes the reference lists for this API, the
// common REST codes and the UserSig codes. The exporter starts a counter at
// 0 for each, so that an alert on the increase of one fires on its very
// first occurrence.
var DocumentedCodes = []int{
	// get_official_account_info
	6017, 10004, 20001, 20005, 130002, 130004, 130007, 131000,
	// common REST codes
	60002, 60003, 60004, 60005, 60006, 60007, 60008, 60010, 60011, 60012,
	60015, 60016, 60017, 60018, 60019, 60020, 60021,
	// UserSig
	70001, 70003, 70009, 70013, 70014, 70016, 70020, 70050,
}
