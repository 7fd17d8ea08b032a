package console

import (
	"net/url"
	"strings"
)

// homePath is where a person lands when they asked for nothing else.
const homePath = "/console/"

// localPath returns next when it is a path on this site, and the console's
// home otherwise. Browsers read "//evil.com" and "/\evil.com" as another
// host, and control characters or a scheme can smuggle one in: only a
// plain absolute path with no authority gets through.
func localPath(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "//") {
		return homePath
	}
	for _, r := range next {
		if r == '\\' || r < 0x20 || r == 0x7f {
			return homePath
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return homePath
	}
	return u.RequestURI()
}
