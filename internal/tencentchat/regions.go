package tencentchat

import (
	"fmt"
	"sort"
	"strings"
)

// regionDomains maps the region names users put in their configuration to
// the REST API domain of that region, as listed by Tencent's API pages.
var regionDomains = map[string]string{
	"china":          "console.tim.qq.com",
	"singapore":      "adminapisgp.im.qcloud.com",
	"seoul":          "adminapikr.im.qcloud.com",
	"tokyo":          "adminapijpn.im.qcloud.com",
	"frankfurt":      "adminapiger.im.qcloud.com",
	"silicon-valley": "adminapiusa.im.qcloud.com",
	"jakarta":        "adminapiidn.im.qcloud.com",
}

// Regions returns the valid region names, sorted.
func Regions() []string {
	names := make([]string, 0, len(regionDomains))
	for name := range regionDomains {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// RegionURL returns the HTTPS base URL of a region's REST API.
func RegionURL(region string) (string, error) {
	domain, ok := regionDomains[region]
	if !ok {
		return "", fmt.Errorf("unknown region %q (valid: %s)", region, strings.Join(Regions(), ", "))
	}
	return "https://" + domain, nil
}
