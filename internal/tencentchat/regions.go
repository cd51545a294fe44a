package tencentchat

import (
	"fmt"
	"net/url"
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

// CheckBaseURL validates an explicit base URL such as the simulator's
// "http://127.0.0.1:9999" or a proxy's. Only the scheme and host are used;
// a path is kept as a prefix so that proxies mounted under a path work.
func CheckBaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("invalid endpoint URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("invalid endpoint URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("invalid endpoint URL %q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("invalid endpoint URL %q: must not carry a query, fragment or user info", raw)
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}
