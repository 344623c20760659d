/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/kube_config.c: kubeconfig variants (token, tokenFile, client certificate
 * as files and as data, CA file and data, insecure, relative paths), the errors for broken
 * files (which must name the field and never the secret), in-cluster config, --master, and
 * token-file rotation.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kube_config.h"

#define SECRET "s3cr3t-t0ken-value"

static char tmpdir[] = "/tmp/kipvs-test-config-XXXXXX";

static void write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *path_of(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

#define HEAD                                                                                       \
	"apiVersion: v1\nkind: Config\ncurrent-context: ctx\n"                                     \
	"contexts:\n- name: other\n  context: {cluster: nope, user: nope}\n"                       \
	"- name: ctx\n  context:\n    cluster: c1\n    user: u1\n"

/* "hello CA" / "CERT" / "KEY" in base64. */
#define CA_B64 "aGVsbG8gQ0E="
#define CERT_B64 "Q0VSVA=="
#define KEY_B64 "S0VZ"

struct ok_case {
	const char *name;
	const char *yaml;
	const char *server;
	const char *ca_file; /* relative to tmpdir, or NULL */
	const char *ca_data;
	bool insecure;
	const char *token;
	const char *cert_file;
	const char *key_file;
	const char *cert_data;
	const char *key_data;
};

static const struct ok_case ok_cases[] = {
	{ "token and CA file",
	  HEAD "clusters:\n- name: c1\n  cluster:\n    server: https://10.0.0.1:6443/\n"
	       "    certificate-authority: ca.crt\n"
	       "users:\n- name: u1\n  user:\n    token: " SECRET "\n",
	  "https://10.0.0.1:6443", "ca.crt", NULL, false, SECRET, NULL, NULL, NULL, NULL },
	{ "tokenFile relative", HEAD "clusters:\n- name: c1\n  cluster:\n    server: https://h:1\n"
				     "users:\n- name: u1\n  user:\n    tokenFile: tok\n",
	  "https://h:1", NULL, NULL, false, "file-token", NULL, NULL, NULL, NULL },
	{ "CA data", HEAD "clusters:\n- name: c1\n  cluster:\n    server: https://h:1\n"
			  "    certificate-authority-data: " CA_B64 "\n"
			  "users:\n- name: u1\n  user: {}\n",
	  "https://h:1", NULL, "hello CA", false, NULL, NULL, NULL, NULL, NULL },
	{ "CA data wins over CA file",
	  HEAD "clusters:\n- name: c1\n  cluster:\n    server: https://h:1\n"
	       "    certificate-authority: ca.crt\n"
	       "    certificate-authority-data: " CA_B64 "\n"
	       "users:\n- name: u1\n  user: {}\n",
	  "https://h:1", NULL, "hello CA", false, NULL, NULL, NULL, NULL, NULL },
	{ "insecure", HEAD "clusters:\n- name: c1\n  cluster:\n    server: https://h:1\n"
			   "    insecure-skip-tls-verify: true\n"
			   "users:\n- name: u1\n  user:\n    token: abc\n",
	  "https://h:1", NULL, NULL, true, "abc", NULL, NULL, NULL, NULL },
	{ "client cert files, absolute and relative",
	  HEAD "clusters:\n- name: c1\n  cluster:\n    server: https://h:1\n"
	       "users:\n- name: u1\n  user:\n    client-certificate: /etc/x/client.crt\n"
	       "    client-key: keys/client.key\n",
	  "https://h:1", NULL, NULL, false, NULL, "/etc/x/client.crt", "keys/client.key", NULL,
	  NULL },
	{ "client cert data", HEAD "clusters:\n- name: c1\n  cluster:\n    server: https://h:1\n"
				   "users:\n- name: u1\n  user:\n"
				   "    client-certificate-data: " CERT_B64 "\n"
				   "    client-key-data: " KEY_B64 "\n",
	  "https://h:1", NULL, NULL, false, NULL, NULL, NULL, "CERT", "KEY" },
	{ "flow style and quoted scalars",
	  "{\"current-context\": \"ctx\", \"contexts\": [{\"name\": \"ctx\", \"context\": "
	  "{\"cluster\": \"c1\", \"user\": \"u1\"}}], \"clusters\": [{\"name\": \"c1\", "
	  "\"cluster\": {\"server\": \"https://[fd00::1]:6443\"}}], \"users\": [{\"name\": "
	  "\"u1\", \"user\": {\"token\": 'tok'}}]}\n",
	  "https://[fd00::1]:6443", NULL, NULL, false, "tok", NULL, NULL, NULL, NULL },
	{ "context without user", "current-context: ctx\ncontexts:\n- name: ctx\n  context:\n"
				  "    cluster: c1\nclusters:\n- name: c1\n  cluster:\n"
				  "    server: http://127.0.0.1:8080\n",
	  "http://127.0.0.1:8080", NULL, NULL, false, NULL, NULL, NULL, NULL, NULL },
};

static void check_path(const char *case_name, const char *field, const char *got,
		       const char *want_rel)
{
	char want[512];

	if (!want_rel) {
		if (got)
			fail_msg("case \"%s\": %s is \"%s\", want none", case_name, field, got);
		return;
	}
	if (want_rel[0] == '/')
		snprintf(want, sizeof(want), "%s", want_rel);
	else
		snprintf(want, sizeof(want), "%s/%s", tmpdir, want_rel);
	if (!got || strcmp(got, want) != 0)
		fail_msg("case \"%s\": %s is \"%s\", want \"%s\"", case_name, field,
			 got ? got : "(null)", want);
}

static void check_blob(const char *case_name, const char *field, const struct kube_blob *b,
		       const char *want)
{
	if (!want) {
		if (b->data)
			fail_msg("case \"%s\": %s set, want none", case_name, field);
		return;
	}
	if (!b->data || b->len != strlen(want) || memcmp(b->data, want, b->len) != 0)
		fail_msg("case \"%s\": %s differs", case_name, field);
}

static void test_kubeconfig_ok(void **state)
{
	(void)state;
	write_file("tok", "file-token\n");
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case *tc = &ok_cases[i];
		struct kube_config *cfg = NULL;
		char err[512] = "";
		const char *token = NULL;
		int r;

		write_file("kc.yaml", tc->yaml);
		r = kube_config_from_kubeconfig(path_of("kc.yaml"), &cfg, err, sizeof(err));
		if (r != 0)
			fail_msg("case \"%s\": %d %s", tc->name, r, err);
		if (strcmp(cfg->server, tc->server) != 0)
			fail_msg("case \"%s\": server %s", tc->name, cfg->server);
		check_path(tc->name, "ca_file", cfg->ca_file, tc->ca_file);
		check_blob(tc->name, "ca_data", &cfg->ca_data, tc->ca_data);
		if (cfg->insecure != tc->insecure)
			fail_msg("case \"%s\": insecure %d", tc->name, cfg->insecure);
		assert_int_equal(kube_config_token(cfg, &token), 0);
		if ((token == NULL) != (tc->token == NULL) ||
		    (token && strcmp(token, tc->token) != 0))
			fail_msg("case \"%s\": token differs", tc->name);
		check_path(tc->name, "cert_file", cfg->cert_file, tc->cert_file);
		check_path(tc->name, "key_file", cfg->key_file, tc->key_file);
		check_blob(tc->name, "cert_data", &cfg->cert_data, tc->cert_data);
		check_blob(tc->name, "key_data", &cfg->key_data, tc->key_data);
		assert_false(cfg->in_cluster);
		assert_string_equal(cfg->context, "ctx");
		assert_null(kube_config_free(cfg));
	}
}

struct bad_case {
	const char *name;
	const char *yaml; /* NULL: the file does not exist */
	int err;
	const char *msg_part; /* must appear in the error text */
};

static const struct bad_case bad_cases[] = {
	{ "missing file", NULL, -ENOENT, "No such file" },
	{ "malformed YAML", "current-context: [ctx\nusers: {\n", -EBADMSG, "malformed YAML" },
	{ "not a mapping", "- a\n- b\n", -EINVAL, "not a YAML mapping" },
	{ "missing current-context",
	  "contexts:\n- name: ctx\n  context: {cluster: c1}\n"
	  "clusters:\n- name: c1\n  cluster: {server: 'https://h:1'}\n",
	  -EINVAL, "current-context is not set" },
	{ "unknown context", "current-context: gone\ncontexts: []\n", -EINVAL,
	  "context \"gone\" not found" },
	{ "unknown cluster", HEAD "clusters: []\n", -EINVAL, "cluster \"c1\" not found" },
	{ "cluster without server",
	  HEAD "clusters:\n- name: c1\n  cluster:\n    insecure-skip-tls-verify: true\n", -EINVAL,
	  "has no server" },
	{ "unknown user",
	  HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://h:1'}\n"
	       "users:\n- name: someone-else\n  user:\n    token: " SECRET "\n",
	  -EINVAL, "user \"u1\" not found" },
	{ "bad CA data",
	  HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://h:1', "
	       "certificate-authority-data: '!!notbase64'}\n",
	  -EINVAL, "certificate-authority-data is not valid base64" },
	{ "missing tokenFile",
	  HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://h:1'}\n"
	       "users:\n- name: u1\n  user:\n    tokenFile: /nonexistent/token\n",
	  -ENOENT, "tokenFile /nonexistent/token: No such file" },
	{ "certificate without key",
	  HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://h:1'}\n"
	       "users:\n- name: u1\n  user:\n    client-certificate: c.crt\n",
	  -EINVAL, "needs both" },
	{ "exec plugin",
	  HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://h:1'}\n"
	       "users:\n- name: u1\n  user:\n    exec:\n      command: aws\n",
	  -EOPNOTSUPP, "not supported" },
};

static void test_kubeconfig_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *tc = &bad_cases[i];
		struct kube_config *cfg = NULL;
		char err[512] = "";
		int r;

		(void)unlink(path_of("bad.yaml"));
		if (tc->yaml)
			write_file("bad.yaml", tc->yaml);
		r = kube_config_from_kubeconfig(path_of("bad.yaml"), &cfg, err, sizeof(err));
		if (r != tc->err)
			fail_msg("case \"%s\": returned %d, want %d (%s)", tc->name, r, tc->err,
				 err);
		assert_null(cfg);
		if (!strstr(err, tc->msg_part) || !strstr(err, path_of("bad.yaml")))
			fail_msg("case \"%s\": error \"%s\" lacks \"%s\" or the path", tc->name,
				 err, tc->msg_part);
		if (strstr(err, SECRET))
			fail_msg("case \"%s\": the error text shows the token", tc->name);
	}
}

static void test_in_cluster(void **state)
{
	struct kube_config *cfg = NULL;
	const char *token;
	char err[512] = "";
	struct kube_config_options opts = { .sa_dir = tmpdir };

	(void)state;
	write_file("token", "sa-token-1\n");
	write_file("ca.crt", "CA");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	assert_int_equal(kube_config_load(&opts, &cfg, err, sizeof(err)), -ENXIO);
	assert_non_null(strstr(err, "--kubeconfig or --master"));

	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kube_config_load(&opts, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->server, "https://10.96.0.1:443");
	assert_true(cfg->in_cluster);
	assert_string_equal(cfg->ca_file, path_of("ca.crt"));
	assert_int_equal(kube_config_token(cfg, &token), 0);
	assert_string_equal(token, "sa-token-1");

	/* The kubelet rotates the token by replacing the file. */
	write_file("token.new", "sa-token-2-longer\n");
	{
		char from[512];

		snprintf(from, sizeof(from), "%s", path_of("token.new"));
		assert_int_equal(rename(from, path_of("token")), 0);
	}
	assert_int_equal(kube_config_token(cfg, &token), 0);
	assert_string_equal(token, "sa-token-2-longer");
	/* A vanished file keeps the last token and reports the error. */
	assert_int_equal(unlink(path_of("token")), 0);
	assert_int_equal(kube_config_token(cfg, &token), -ENOENT);
	assert_string_equal(token, "sa-token-2-longer");
	cfg = kube_config_free(cfg);

	/* No token file at start: a clear error. */
	assert_int_equal(kube_config_load(&opts, &cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "service-account token"));

	/* IPv6 service host. */
	write_file("token", "t");
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	assert_int_equal(kube_config_load(&opts, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->server, "https://[fd00::1]:443");
	cfg = kube_config_free(cfg);

	/* --master replaces the in-cluster server and keeps its credentials. */
	opts.master = "https://192.168.49.2:8443/";
	assert_int_equal(kube_config_load(&opts, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->server, "https://192.168.49.2:8443");
	assert_int_equal(kube_config_token(cfg, &token), 0);
	assert_string_equal(token, "t");
	cfg = kube_config_free(cfg);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static void test_master(void **state)
{
	struct kube_config *cfg = NULL;
	const char *token = "x";
	char err[512] = "";
	struct kube_config_options opts = { .master = "http://127.0.0.1:8080",
					    .sa_dir = "/nonexistent" };

	(void)state;
	unsetenv("KUBERNETES_SERVICE_HOST");
	/* --master alone: no credentials. */
	assert_int_equal(kube_config_load(&opts, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->server, "http://127.0.0.1:8080");
	assert_int_equal(kube_config_token(cfg, &token), 0);
	assert_null(token);
	cfg = kube_config_free(cfg);

	/* --master with a kubeconfig keeps the kubeconfig's credentials. */
	write_file("m.yaml", HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://h:1'}\n"
				  "users:\n- name: u1\n  user: {token: abc}\n");
	opts.kubeconfig = path_of("m.yaml");
	opts.master = "https://real-api:6443";
	assert_int_equal(kube_config_load(&opts, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg->server, "https://real-api:6443");
	assert_int_equal(kube_config_token(cfg, &token), 0);
	assert_string_equal(token, "abc");
	cfg = kube_config_free(cfg);

	opts.master = "ftp://x";
	assert_int_equal(kube_config_load(&opts, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--master"));
}

struct b64_case {
	const char *in;
	const char *out; /* NULL: invalid */
};

static const struct b64_case b64_cases[] = {
	{ "", "" },	    { "YQ==", "a" },	       { "YQ", "a" },	    { "YWI=", "ab" },
	{ "YWJj", "abc" },  { "YW\nJj\n", "abc" },     { "Y", NULL },	    { "YQ==YQ", NULL },
	{ "Y*Jj", NULL },   { "LS0tLS1CRUdJTg==", "-----BEGIN" },
};

static void test_base64(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
		char *out = NULL;
		size_t len = 0;
		int r = kube_config_base64_decode(b64_cases[i].in, &out, &len);

		if (!b64_cases[i].out) {
			if (r != -EINVAL)
				fail_msg("base64 \"%s\": want -EINVAL, got %d", b64_cases[i].in, r);
			continue;
		}
		if (r != 0 || len != strlen(b64_cases[i].out) ||
		    strcmp(out, b64_cases[i].out) != 0)
			fail_msg("base64 \"%s\": got %d \"%s\"", b64_cases[i].in, r,
				 out ? out : "");
		free(out);
	}
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubeconfig_ok), cmocka_unit_test(test_kubeconfig_bad),
		cmocka_unit_test(test_in_cluster),    cmocka_unit_test(test_master),
		cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
