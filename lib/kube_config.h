/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the API server is and how to authenticate to it: from a kubeconfig file (--kubeconfig),
 * from the pod's service account (in-cluster), and the --master override. The result is a
 * plain value that kube_http applies to each request. Secrets (token, key) live only here and
 * in the request headers; no function of this module puts them in an error text or a log line.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define KUBE_CONFIG_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Bytes held in memory (decoded *-data fields: PEM text). len 0 goes with data NULL. */
struct kube_blob {
	char *data;
	size_t len;
};

struct kube_config {
	char *server; /* "https://host:port" (any path prefix kept), no trailing '/' */
	char *ca_file; /* CA bundle path; NULL when absent */
	struct kube_blob ca_data; /* CA bundle PEM; used instead of ca_file when set */
	bool insecure; /* insecure-skip-tls-verify: true */
	char *tls_server_name; /* tls-server-name; NULL when absent */
	char *token; /* static bearer token, or the token_file's current content */
	char *token_file; /* re-read when it changes; NULL when absent */
	char *cert_file; /* client certificate path */
	char *key_file; /* client key path */
	struct kube_blob cert_data; /* client certificate PEM */
	struct kube_blob key_data; /* client key PEM */
	bool in_cluster; /* built from the service account */
	char *source; /* "kubeconfig:<path>", "in-cluster" or "master" (for logs) */
	char *context; /* the kubeconfig context used; NULL in-cluster */
	/* token_file's identity when last read, to notice rotation. */
	struct timespec token_mtime;
	off_t token_size;
	ino_t token_ino;
};

struct kube_config_options {
	const char *kubeconfig; /* --kubeconfig; NULL or "": in-cluster */
	const char *master; /* --master; overrides the server; NULL: none */
	const char *sa_dir; /* service-account directory; NULL: KUBE_CONFIG_SA_DIR */
};

/*
 * Builds the configuration the options describe: the kubeconfig when given, otherwise the
 * in-cluster service account; --master then replaces the server. With --master and neither a
 * kubeconfig nor a service account, the client talks to the master without credentials.
 * On success *ret_cfg is set (free with kube_config_free()) and 0 returned. On failure returns
 * -errno (-EINVAL for a bad or incomplete file, -ENOENT for a missing one, -EBADMSG for
 * malformed YAML) and writes one human-readable sentence naming the file and the field to
 * err (never a secret).
 */
int kube_config_load(const struct kube_config_options *opts, struct kube_config **ret_cfg,
		     char *err, size_t errlen) __attribute__((warn_unused_result));

/* The kubeconfig alone (its current-context). Same contract as kube_config_load(). */
int kube_config_from_kubeconfig(const char *path, struct kube_config **ret_cfg, char *err,
				size_t errlen) __attribute__((warn_unused_result));

/*
 * In-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT from the environment, the
 * token file and ca.crt in sa_dir (NULL: KUBE_CONFIG_SA_DIR). Same contract as above.
 */
int kube_config_from_cluster(const char *sa_dir, struct kube_config **ret_cfg, char *err,
			     size_t errlen) __attribute__((warn_unused_result));

struct kube_config *kube_config_free(struct kube_config *cfg);

/*
 * The bearer token to send now, re-reading token_file when its inode, size or mtime changed
 * since the last read. *ret_token is NULL when the configuration has no token; the string is
 * owned by cfg and valid until the next call. Returns 0, or -errno when the file cannot be
 * read (the previous token, if any, is kept and returned).
 */
int kube_config_token(struct kube_config *cfg, const char **ret_token)
	__attribute__((warn_unused_result));

/*
 * Decodes standard base64 (whitespace ignored, padding optional). Returns the decoded bytes
 * NUL-terminated in *ret (free()) with the length in *ret_len, or -EINVAL / -ENOMEM.
 */
int kube_config_base64_decode(const char *in, char **ret, size_t *ret_len)
	__attribute__((warn_unused_result));
