package spamtest

import (
	"fmt"
	"os"
	"path/filepath"
)

// disabled are the stock modules turned off: they need redis (bayes
// learning, ratelimits, greylisting, reputation, neural, history), ask DNS
// (RBLs and URIBLs, SPF, DKIM, DMARC, ARC, ASN, MX, HELO checks), fetch
// maps or rules from the Internet, or talk to outside services. What stays
// are rspamd's local content rules: MIME, headers, regexps, GTUBE.
var disabled = []string{
	"antivirus", "arc", "asn", "aws_s3", "bimi", "clickhouse", "dcc", "dkim",
	"dkim_signing", "dmarc", "elastic", "external_services", "force_actions",
	"fuzzy_check", "greylist", "hfilter", "history_redis", "metadata_exporter",
	"multimap", "mx_check", "neural", "p0f", "phishing", "ratelimit", "rbl",
	"replies", "reputation", "rspamd_update", "spamtrap", "spf",
	"url_redirector", "whitelist",
}

// files are the override.d files besides the disabled modules', by name.
// override.d takes priority over the stock configuration, key by key.
func files(dir string, normal, controller, dns int) map[string]string {
	return map[string]string{
		// The C filters that need no network (fuzzy_check and dkim do),
		// a resolver on loopback that refuses everything, and a short
		// public-suffix list: compiling the full one takes rspamd seconds
		// at every start, and no test depends on it.
		"options.inc": fmt.Sprintf(`filters = "chartable,regexp";
dns { nameserver = ["127.0.0.1:%d"]; timeout = 1s; retransmits = 0; sockets = 1; }
url_tld = "%s";
control_socket = "%s mode=0600";
`, dns, filepath.Join(dir, "tld.dat"), filepath.Join(dir, "run", "rspamd.sock")),
		"logging.inc": fmt.Sprintf(`type = "file";
filename = "%s";
level = "info";
`, filepath.Join(dir, "rspamd.log")),
		"worker-normal.inc": fmt.Sprintf(`bind_socket = "127.0.0.1:%d";
count = 1;
`, normal),
		"worker-controller.inc": fmt.Sprintf(`bind_socket = "127.0.0.1:%d";
count = 1;
password = %q;
secure_ip = [];
`, controller, Password),
		"worker-proxy.inc": "enabled = false;\n",
	}
}

// tlds is the public-suffix list rspamd gets (options url_tld).
const tlds = "com\nnet\norg\nexample\ntest\ninvalid\nlocalhost\n"

// writeConfig writes dir's configuration: local/override.d for the stock
// rspamd.conf, and empty db and run directories.
func writeConfig(dir string, normal, controller, dns int) error {
	override := filepath.Join(dir, "local", "override.d")
	for _, d := range []string{override, filepath.Join(dir, "db"), filepath.Join(dir, "run")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	write := func(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }
	if err := write(filepath.Join(dir, "tld.dat"), tlds); err != nil {
		return err
	}
	for name, text := range files(dir, normal, controller, dns) {
		if err := write(filepath.Join(override, name), text); err != nil {
			return err
		}
	}
	for _, module := range disabled {
		if err := write(filepath.Join(override, module+".conf"), "enabled = false;\n"); err != nil {
			return err
		}
	}
	return nil
}
