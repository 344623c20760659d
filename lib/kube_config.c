/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads a kubeconfig (YAML, through libyaml's document API) or the in-cluster service
 * account into a struct kube_config. Relative paths resolve against the kubeconfig's
 * directory, as kubectl does; *-data fields are base64 PEM kept in memory. Errors name the
 * file and the field and never quote a value, so a secret cannot leak through them.
 */
#include "kube_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "cleanup.h"
#include "kube_file.h"

/* Secrets and certificates larger than this are refused rather than read. */
#define KUBE_CONFIG_FILE_MAX (4 << 20)

static void kube_config_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void kube_config_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void kube_blob_clear(struct kube_blob *blob)
{
	if (blob->data) {
		explicit_bzero(blob->data, blob->len);
		free(blob->data);
	}
	blob->data = NULL;
	blob->len = 0;
}

static void kube_config_token_clear(struct kube_config *cfg)
{
	if (cfg->token) {
		explicit_bzero(cfg->token, strlen(cfg->token));
		free(cfg->token);
		cfg->token = NULL;
	}
}

struct kube_config *kube_config_free(struct kube_config *cfg)
{
	if (!cfg)
		return NULL;
	free(cfg->server);
	free(cfg->ca_file);
	kube_blob_clear(&cfg->ca_data);
	free(cfg->tls_server_name);
	kube_config_token_clear(cfg);
	free(cfg->token_file);
	free(cfg->cert_file);
	free(cfg->key_file);
	kube_blob_clear(&cfg->cert_data);
	kube_blob_clear(&cfg->key_data);
	free(cfg->source);
	free(cfg->context);
	free(cfg);
	return NULL;
}

static void kube_config_freep(struct kube_config **cfg)
{
	(void)kube_config_free(*cfg);
}

static int kube_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int kube_config_base64_decode(const char *in, char **ret, size_t *ret_len)
{
	size_t n = strlen(in), len = 0;
	uint32_t acc = 0;
	int bits = 0;
	bool pad = false;
	char *out = malloc(n / 4 * 3 + 4);

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c == '=') {
			pad = true;
			continue;
		}
		v = kube_b64_value(c);
		if (v < 0 || pad) {
			free(out);
			return -EINVAL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (char)((acc >> bits) & 0xff);
		}
	}
	/* A single leftover sextet cannot encode a byte. */
	if (bits >= 6) {
		free(out);
		return -EINVAL;
	}
	out[len] = '\0';
	*ret = out;
	*ret_len = len;
	return 0;
}

/* Strips trailing whitespace (token files usually end with a newline). */
static void kube_config_rstrip(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
			 s[n - 1] == '\t'))
		s[--n] = '\0';
}

int kube_config_token(struct kube_config *cfg, const char **ret_token)
{
	struct stat st;
	char *token = NULL;
	int r;

	if (!cfg->token_file) {
		*ret_token = cfg->token;
		return 0;
	}
	if (stat(cfg->token_file, &st) < 0) {
		r = -errno;
		*ret_token = cfg->token;
		return r;
	}
	if (cfg->token && st.st_ino == cfg->token_ino && st.st_size == cfg->token_size &&
	    st.st_mtim.tv_sec == cfg->token_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == cfg->token_mtime.tv_nsec) {
		*ret_token = cfg->token;
		return 0;
	}
	r = kube_file_read(cfg->token_file, KUBE_CONFIG_FILE_MAX, &token, NULL);
	if (r < 0) {
		*ret_token = cfg->token;
		return r;
	}
	kube_config_rstrip(token);
	kube_config_token_clear(cfg);
	cfg->token = token;
	cfg->token_ino = st.st_ino;
	cfg->token_size = st.st_size;
	cfg->token_mtime = st.st_mtim;
	*ret_token = cfg->token;
	return 0;
}

/* --- YAML navigation ---------------------------------------------------------------------- */

static const char *kube_yaml_scalar(yaml_node_t *node)
{
	if (!node || node->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)node->data.scalar.value;
}

static yaml_node_t *kube_yaml_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const char *k = kube_yaml_scalar(yaml_document_get_node(doc, p->key));

		if (k && strcmp(k, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static const char *kube_yaml_get_str(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	const char *s = kube_yaml_scalar(kube_yaml_get(doc, map, key));

	/* YAML null ("~", "null", empty) is absent. */
	if (s && (*s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0))
		return NULL;
	return s;
}

static bool kube_yaml_get_bool(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	const char *s = kube_yaml_get_str(doc, map, key);

	return s && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
		     strcmp(s, "TRUE") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "on") == 0);
}

/* In the sequence `list` of {name: ..., <field>: {...}}, the <field> map of entry `name`. */
static yaml_node_t *kube_yaml_find_named(yaml_document_t *doc, yaml_node_t *list,
					 const char *name, const char *field)
{
	if (!list || list->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *i = list->data.sequence.items.start;
	     i < list->data.sequence.items.top; i++) {
		yaml_node_t *entry = yaml_document_get_node(doc, *i);
		const char *n = kube_yaml_get_str(doc, entry, "name");

		if (n && strcmp(n, name) == 0) {
			yaml_node_t *inner = kube_yaml_get(doc, entry, field);

			/* "user: {}" and a bare "user:" both mean an empty entry. */
			return inner ? inner : entry;
		}
	}
	return NULL;
}

/* A path from the kubeconfig, made absolute against the kubeconfig's directory. */
static int kube_config_resolve(const char *dir, const char *path, char **ret)
{
	char *s;

	if (path[0] == '/' || !dir)
		s = strdup(path);
	else if (asprintf(&s, "%s/%s", dir, path) < 0)
		s = NULL;
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static int kube_config_set_server(struct kube_config *cfg, const char *server)
{
	size_t n;
	char *s = strdup(server);

	if (!s)
		return -ENOMEM;
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	free(cfg->server);
	cfg->server = s;
	return 0;
}

/*
 * Copies a path field (resolved) or a *-data field (decoded) of `map` into *path / *blob.
 * Returns 0 (also when neither is present), -EINVAL for bad base64, or -ENOMEM.
 */
static int kube_config_take_pem(yaml_document_t *doc, yaml_node_t *map, const char *dir,
				const char *path_key, const char *data_key, char **path,
				struct kube_blob *blob)
{
	const char *data = kube_yaml_get_str(doc, map, data_key);
	const char *file = kube_yaml_get_str(doc, map, path_key);

	if (data)
		return kube_config_base64_decode(data, &blob->data, &blob->len);
	if (file)
		return kube_config_resolve(dir, file, path);
	return 0;
}

static int kube_config_from_doc(yaml_document_t *doc, const char *path, const char *dir,
				struct kube_config *cfg, char *err, size_t errlen)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	yaml_node_t *context, *cluster, *user;
	const char *ctx_name, *cluster_name, *user_name, *server, *s;
	int r;

	if (!root || root->type != YAML_MAPPING_NODE) {
		kube_config_err(err, errlen, "kubeconfig %s: not a YAML mapping", path);
		return -EINVAL;
	}
	ctx_name = kube_yaml_get_str(doc, root, "current-context");
	if (!ctx_name) {
		kube_config_err(err, errlen, "kubeconfig %s: current-context is not set", path);
		return -EINVAL;
	}
	context = kube_yaml_find_named(doc, kube_yaml_get(doc, root, "contexts"), ctx_name,
				       "context");
	if (!context) {
		kube_config_err(err, errlen, "kubeconfig %s: context \"%s\" not found", path,
				ctx_name);
		return -EINVAL;
	}
	cfg->context = strdup(ctx_name);
	if (!cfg->context)
		return -ENOMEM;
	cluster_name = kube_yaml_get_str(doc, context, "cluster");
	user_name = kube_yaml_get_str(doc, context, "user");
	if (!cluster_name) {
		kube_config_err(err, errlen, "kubeconfig %s: context \"%s\" names no cluster", path,
				ctx_name);
		return -EINVAL;
	}
	cluster = kube_yaml_find_named(doc, kube_yaml_get(doc, root, "clusters"), cluster_name,
				       "cluster");
	if (!cluster) {
		kube_config_err(err, errlen, "kubeconfig %s: cluster \"%s\" not found", path,
				cluster_name);
		return -EINVAL;
	}
	server = kube_yaml_get_str(doc, cluster, "server");
	if (!server) {
		kube_config_err(err, errlen, "kubeconfig %s: cluster \"%s\" has no server", path,
				cluster_name);
		return -EINVAL;
	}
	r = kube_config_set_server(cfg, server);
	if (r < 0)
		return r;
	cfg->insecure = kube_yaml_get_bool(doc, cluster, "insecure-skip-tls-verify");
	s = kube_yaml_get_str(doc, cluster, "tls-server-name");
	if (s && !(cfg->tls_server_name = strdup(s)))
		return -ENOMEM;
	r = kube_config_take_pem(doc, cluster, dir, "certificate-authority",
				 "certificate-authority-data", &cfg->ca_file, &cfg->ca_data);
	if (r == -EINVAL)
		kube_config_err(err, errlen,
				"kubeconfig %s: cluster \"%s\": certificate-authority-data is not "
				"valid base64",
				path, cluster_name);
	if (r < 0)
		return r;

	if (!user_name)
		return 0; /* a context without a user: no credentials */
	user = kube_yaml_find_named(doc, kube_yaml_get(doc, root, "users"), user_name, "user");
	if (!user) {
		kube_config_err(err, errlen, "kubeconfig %s: user \"%s\" not found", path,
				user_name);
		return -EINVAL;
	}
	if (kube_yaml_get(doc, user, "exec") || kube_yaml_get(doc, user, "auth-provider")) {
		kube_config_err(err, errlen,
				"kubeconfig %s: user \"%s\": exec and auth-provider credentials are "
				"not supported; use a token, tokenFile or client certificate",
				path, user_name);
		return -EOPNOTSUPP;
	}
	s = kube_yaml_get_str(doc, user, "token");
	if (s && !(cfg->token = strdup(s)))
		return -ENOMEM;
	s = kube_yaml_get_str(doc, user, "tokenFile");
	if (s && !cfg->token) {
		const char *tok;

		r = kube_config_resolve(dir, s, &cfg->token_file);
		if (r < 0)
			return r;
		r = kube_config_token(cfg, &tok);
		if (r < 0) {
			kube_config_err(err, errlen, "kubeconfig %s: user \"%s\": tokenFile %s: %s",
					path, user_name, cfg->token_file, strerror(-r));
			return r;
		}
	}
	r = kube_config_take_pem(doc, user, dir, "client-certificate", "client-certificate-data",
				 &cfg->cert_file, &cfg->cert_data);
	if (r == 0)
		r = kube_config_take_pem(doc, user, dir, "client-key", "client-key-data",
					 &cfg->key_file, &cfg->key_data);
	if (r == -EINVAL)
		kube_config_err(err, errlen,
				"kubeconfig %s: user \"%s\": client-certificate-data or "
				"client-key-data is not valid base64",
				path, user_name);
	if (r < 0)
		return r;
	if ((cfg->cert_file || cfg->cert_data.data) != (cfg->key_file || cfg->key_data.data)) {
		kube_config_err(err, errlen,
				"kubeconfig %s: user \"%s\": a client certificate needs both "
				"client-certificate and client-key",
				path, user_name);
		return -EINVAL;
	}
	return 0;
}

int kube_config_from_kubeconfig(const char *path, struct kube_config **ret_cfg, char *err,
				size_t errlen)
{
	_cleanup_(kube_config_freep) struct kube_config *cfg = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *dir = NULL;
	yaml_parser_t parser;
	yaml_document_t doc;
	size_t len;
	char *slash;
	int r;

	r = kube_file_read(path, KUBE_CONFIG_FILE_MAX, &text, &len);
	if (r < 0) {
		kube_config_err(err, errlen, "kubeconfig %s: %s", path, strerror(-r));
		return r;
	}
	dir = strdup(path);
	cfg = calloc(1, sizeof(*cfg));
	if (!dir || !cfg)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		strcpy(dir, ".");
	if (asprintf(&cfg->source, "kubeconfig:%s", path) < 0) {
		cfg->source = NULL;
		return -ENOMEM;
	}

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		kube_config_err(err, errlen, "kubeconfig %s: malformed YAML at line %zu: %s", path,
				parser.problem_mark.line + 1,
				parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		return -EBADMSG;
	}
	r = kube_config_from_doc(&doc, path, strcmp(dir, "") == 0 ? "/" : dir, cfg, err, errlen);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	explicit_bzero(text, len);
	if (r < 0)
		return r;
	*ret_cfg = TAKE_PTR(cfg);
	return 0;
}

int kube_config_from_cluster(const char *sa_dir, struct kube_config **ret_cfg, char *err,
			     size_t errlen)
{
	_cleanup_(kube_config_freep) struct kube_config *cfg = NULL;
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *tok;
	int r;

	if (!sa_dir)
		sa_dir = KUBE_CONFIG_SA_DIR;
	if (!host || !*host || !port || !*port) {
		kube_config_err(err, errlen,
				"no --kubeconfig and not in a cluster (KUBERNETES_SERVICE_HOST and "
				"KUBERNETES_SERVICE_PORT are not set): give --kubeconfig or --master");
		return -ENXIO;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	cfg->in_cluster = true;
	if (asprintf(&cfg->server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		     port) < 0) {
		cfg->server = NULL;
		return -ENOMEM;
	}
	if (asprintf(&cfg->token_file, "%s/token", sa_dir) < 0) {
		cfg->token_file = NULL;
		return -ENOMEM;
	}
	if (asprintf(&cfg->ca_file, "%s/ca.crt", sa_dir) < 0) {
		cfg->ca_file = NULL;
		return -ENOMEM;
	}
	cfg->source = strdup("in-cluster");
	if (!cfg->source)
		return -ENOMEM;
	r = kube_config_token(cfg, &tok);
	if (r < 0) {
		kube_config_err(err, errlen, "in-cluster: service-account token %s: %s",
				cfg->token_file, strerror(-r));
		return r;
	}
	if (access(cfg->ca_file, R_OK) < 0) {
		r = -errno;
		kube_config_err(err, errlen, "in-cluster: service-account CA %s: %s", cfg->ca_file,
				strerror(-r));
		return r;
	}
	*ret_cfg = TAKE_PTR(cfg);
	return 0;
}

int kube_config_load(const struct kube_config_options *opts, struct kube_config **ret_cfg,
		     char *err, size_t errlen)
{
	_cleanup_(kube_config_freep) struct kube_config *cfg = NULL;
	bool have_master = opts->master && *opts->master;
	int r;

	if (opts->kubeconfig && *opts->kubeconfig) {
		r = kube_config_from_kubeconfig(opts->kubeconfig, &cfg, err, errlen);
		if (r < 0)
			return r;
	} else {
		r = kube_config_from_cluster(opts->sa_dir, &cfg, err, errlen);
		if (r < 0 && !have_master)
			return r;
		if (r < 0) {
			/* --master alone, outside a pod: no credentials, system CAs. */
			cfg = calloc(1, sizeof(*cfg));
			if (!cfg)
				return -ENOMEM;
			cfg->source = strdup("master");
			if (!cfg->source)
				return -ENOMEM;
		}
	}
	if (have_master) {
		r = kube_config_set_server(cfg, opts->master);
		if (r < 0)
			return r;
	}
	if (strncmp(cfg->server, "https://", 8) != 0 && strncmp(cfg->server, "http://", 7) != 0) {
		kube_config_err(err, errlen, "%s: server must start with https:// or http://",
				have_master ? "--master" : cfg->source);
		return -EINVAL;
	}
	*ret_cfg = TAKE_PTR(cfg);
	return 0;
}
