/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads `--config FILE`, a kube-proxy KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1,
 * YAML or JSON), so that an operator's existing kube-proxy config starts kipvs unedited. The
 * fields kipvs shares with kube-proxy are applied with kube-proxy's reading (a zero value means
 * the default); every other field that holds a value is named in one warning line.
 */
#include "kube_options.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cleanup.h"
#include "kube_file.h"
#include "kube_options_internal.h"
#include "kube_yaml.h"
#include "log.h"

#define KUBE_OPTIONS_FILE_MAX (1024 * 1024)
#define KUBE_OPTIONS_FILE_PATH_MAX 256
#define KUBE_OPTIONS_API_VERSION "kubeproxy.config.k8s.io/v1alpha1"
#define KUBE_OPTIONS_KIND "KubeProxyConfiguration"

struct kube_options_file {
	struct kube_options *o;
	const char *path;
	char *err;
	size_t err_size;
	bool have_api_version;
	bool have_kind;
	bool bind_v6; /* bindAddress is IPv6: the serving defaults are [::] and [::1] */
	const cJSON *healthz; /* applied last: their defaults depend on bindAddress */
	const cJSON *metrics;
};

typedef int (*kube_options_field_fn)(struct kube_options_file *f, const char *field,
				     const cJSON *v);

/* How a field is applied: by its own function, or as a typed value (most fields). */
enum kube_options_field_type {
	KUBE_OPTIONS_FIELD_FN, /* apply() */
	KUBE_OPTIONS_FIELD_MS, /* a duration, into the uint64_t at offset in struct kube_options */
	KUBE_OPTIONS_FIELD_BOOL, /* into the bool at offset */
	KUBE_OPTIONS_FIELD_SET, /* a string, through the command line's setter set() */
};

struct kube_options_field {
	const char *path;
	enum kube_options_field_type type;
	kube_options_field_fn apply;
	size_t offset;
	kube_option_set_fn set;
};

/* The offset of member in struct kube_options; a member not of type T fails to compile. */
#define KUBE_OPTIONS_MEMBER(member, T)                                                             \
	(offsetof(struct kube_options, member) +                                                   \
	 0 * sizeof(char[__builtin_types_compatible_p(                                             \
				 __typeof__(((struct kube_options *)0)->member), T) ? 1 : -1]))
#define KUBE_OPTIONS_FN(path, fn) { path, KUBE_OPTIONS_FIELD_FN, fn, 0, NULL }
#define KUBE_OPTIONS_MS(path, member)                                                              \
	{ path, KUBE_OPTIONS_FIELD_MS, NULL, KUBE_OPTIONS_MEMBER(member, uint64_t), NULL }
#define KUBE_OPTIONS_BOOL(path, member)                                                            \
	{ path, KUBE_OPTIONS_FIELD_BOOL, NULL, KUBE_OPTIONS_MEMBER(member, bool), NULL }
#define KUBE_OPTIONS_SET(path, setter) { path, KUBE_OPTIONS_FIELD_SET, NULL, 0, setter }

static void cJSON_Deletep(cJSON **p)
{
	cJSON_Delete(*p);
}

/* The file as a whole is refused: `kipvs: invalid value "FILE" for --config: ...`. */
static int __attribute__((format(printf, 2, 3)))
kube_options_file_fail(struct kube_options_file *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(f->err, f->err_size, "kipvs: invalid value \"%s\" for --config: ", f->path);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < f->err_size)
		(void)vsnprintf(f->err + n, f->err_size - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A value the field's parser refused: names the value, the field, the file and the reason. */
static int kube_options_file_invalid(struct kube_options_file *f, const char *field,
				     const char *value, const char *why)
{
	(void)snprintf(f->err, f->err_size, "kipvs: invalid value \"%.200s\" for %s in %s: %s",
		       value, field, f->path, why);
	return -EINVAL;
}

static int kube_options_file_type(struct kube_options_file *f, const char *field,
				  const char *want)
{
	(void)snprintf(f->err, f->err_size, "kipvs: invalid value for %s in %s: want %s", field,
		       f->path, want);
	return -EINVAL;
}

/* The string of v; null reads as "" (unset). */
static int kube_options_file_string(struct kube_options_file *f, const char *field,
				    const cJSON *v, const char **ret)
{
	if (cJSON_IsNull(v)) {
		*ret = "";
		return 0;
	}
	if (!cJSON_IsString(v))
		return kube_options_file_type(f, field, "a string");
	*ret = v->valuestring;
	return 0;
}

static int kube_options_file_bool(struct kube_options_file *f, const char *field, const cJSON *v,
				  bool *ret)
{
	if (cJSON_IsNull(v)) {
		*ret = false;
		return 0;
	}
	if (!cJSON_IsBool(v))
		return kube_options_file_type(f, field, "true or false");
	*ret = cJSON_IsTrue(v);
	return 0;
}

/* A duration field (metav1.Duration: a Go duration string); null or 0 is zero. */
static int kube_options_file_ms(struct kube_options_file *f, const char *field, const cJSON *v,
				uint64_t *ret)
{
	char why[KUBE_OPTIONS_WHY_MAX];

	if (cJSON_IsNull(v) || (cJSON_IsNumber(v) && v->valuedouble == 0)) {
		*ret = 0;
		return 0;
	}
	if (!cJSON_IsString(v))
		return kube_options_file_type(f, field, "a duration string such as \"30s\"");
	if (kube_options_ms_parse(v->valuestring, false, ret, why, sizeof(why)) < 0)
		return kube_options_file_invalid(f, field, v->valuestring, why);
	return 0;
}

/* Calls set for each string of a list field ([] or null: none). */
static int kube_options_file_list(struct kube_options_file *f, const char *field, const cJSON *v,
				  kube_option_set_fn set)
{
	char why[KUBE_OPTIONS_WHY_MAX];
	const cJSON *item;
	bool append = false;
	int r;

	if (cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v))
		return kube_options_file_type(f, field, "a list of strings");
	cJSON_ArrayForEach(item, v) {
		if (!cJSON_IsString(item))
			return kube_options_file_type(f, field, "a list of strings");
		r = set(f->o, item->valuestring, append, why, sizeof(why));
		if (r == -EINVAL)
			return kube_options_file_invalid(f, field, item->valuestring, why);
		if (r < 0)
			return r;
		append = true;
	}
	return 0;
}

static int kube_options_file_api_version(struct kube_options_file *f, const char *field,
					 const cJSON *v)
{
	if (!cJSON_IsString(v) || strcmp(v->valuestring, KUBE_OPTIONS_API_VERSION) != 0)
		return kube_options_file_invalid(f, field,
						 cJSON_IsString(v) ? v->valuestring : "",
						 "kipvs reads " KUBE_OPTIONS_API_VERSION);
	f->have_api_version = true;
	return 0;
}

static int kube_options_file_kind(struct kube_options_file *f, const char *field, const cJSON *v)
{
	if (!cJSON_IsString(v) || strcmp(v->valuestring, KUBE_OPTIONS_KIND) != 0)
		return kube_options_file_invalid(f, field,
						 cJSON_IsString(v) ? v->valuestring : "",
						 "want " KUBE_OPTIONS_KIND);
	f->have_kind = true;
	return 0;
}

/* A string field copied as is; "" leaves it unset. */
static int kube_options_file_path_field(struct kube_options_file *f, const char *field,
					const cJSON *v, char **dst)
{
	const char *s;
	int r;

	r = kube_options_file_string(f, field, v, &s);
	if (r < 0)
		return r;
	return kube_options_string_set(dst, s[0] ? s : NULL);
}

static int kube_options_file_kubeconfig(struct kube_options_file *f, const char *field,
					const cJSON *v)
{
	return kube_options_file_path_field(f, field, v, &f->o->kubeconfig);
}

static int kube_options_file_hostname(struct kube_options_file *f, const char *field,
				      const cJSON *v)
{
	char why[KUBE_OPTIONS_WHY_MAX], *name = NULL;
	const char *s;
	int r;

	r = kube_options_file_string(f, field, v, &s);
	if (r < 0 || !s[0])
		return r;
	r = kube_options_hostname_parse(s, &name, why, sizeof(why));
	if (r == -EINVAL)
		return kube_options_file_invalid(f, field, s, why);
	if (r < 0)
		return r;
	free(f->o->hostname);
	f->o->hostname = name;
	return 0;
}

static int kube_options_file_bind_address(struct kube_options_file *f, const char *field,
					  const cJSON *v)
{
	struct net_addr addr;
	const char *s;
	int r;

	r = kube_options_file_string(f, field, v, &s);
	if (r < 0 || !s[0])
		return r;
	if (net_addr_parse(s, &addr) < 0)
		return kube_options_file_invalid(f, field, s, "not an IP address");
	f->bind_v6 = addr.family == AF_INET6;
	return 0;
}

static int kube_options_file_healthz(struct kube_options_file *f, const char *field,
				     const cJSON *v)
{
	(void)field;
	f->healthz = v;
	return 0;
}

static int kube_options_file_metrics(struct kube_options_file *f, const char *field,
				     const cJSON *v)
{
	(void)field;
	f->metrics = v;
	return 0;
}


static int kube_options_file_mode(struct kube_options_file *f, const char *field, const cJSON *v)
{
	char qpath[KUBE_OPTIONS_FILE_PATH_MAX + 8], qmode[64];
	const char *s;
	int r;

	r = kube_options_file_string(f, field, v, &s);
	if (r < 0)
		return r;
	if (strcmp(s, "ipvs") != 0)
		log_warn("config", "kube-proxy mode is not ipvs; kipvs programs IPVS all the same",
			 "file=%s field=%s value=%s%s",
			 log_quote(qpath, sizeof(qpath), f->path), field,
			 log_quote(qmode, sizeof(qmode), s),
			 s[0] ? "" : " detail=\"empty: kube-proxy would use iptables\"");
	return 0;
}

static int kube_options_file_sync_period(struct kube_options_file *f, const char *field,
					 const cJSON *v)
{
	uint64_t ms;
	int r;

	r = kube_options_file_ms(f, field, v, &ms);
	if (r < 0)
		return r;
	/* kube-proxy's defaulting: zero means 30s. */
	if (ms == 0)
		return kube_options_ms_parse(KUBE_OPTIONS_SYNC_PERIOD_DEFAULT, false,
					     &f->o->sync_period_ms, f->err, f->err_size);
	f->o->sync_period_ms = ms;
	return 0;
}



static int kube_options_file_exclude_add(struct kube_options *o, const char *value, bool append,
					 char *why, size_t why_size)
{
	(void)append;
	return kube_options_cidr_add(&o->exclude_cidrs, &o->n_exclude_cidrs, value, why,
				     why_size);
}

static int kube_options_file_exclude_cidrs(struct kube_options_file *f, const char *field,
					   const cJSON *v)
{
	free(f->o->exclude_cidrs);
	f->o->exclude_cidrs = NULL;
	f->o->n_exclude_cidrs = 0;
	return kube_options_file_list(f, field, v, kube_options_file_exclude_add);
}






static int kube_options_file_nodeport_addresses(struct kube_options_file *f, const char *field,
						const cJSON *v)
{
	free(f->o->nodeport_cidrs);
	f->o->nodeport_cidrs = NULL;
	f->o->n_nodeport_cidrs = 0;
	f->o->nodeport_primary = false;
	return kube_options_file_list(f, field, v, kube_options_set_nodeport_addresses);
}

static int kube_options_file_proxy_name(struct kube_options_file *f, const char *field,
					const cJSON *v)
{
	const char *s;
	int r;

	r = kube_options_file_string(f, field, v, &s);
	if (r < 0)
		return r;
	if (s[0] && !kube_options_label_value_is_valid(s))
		return kube_options_file_invalid(f, field, s, "not a label value");
	return kube_options_string_set(&f->o->proxy_name, s[0] ? s : NULL);
}

static int kube_options_file_verbosity(struct kube_options_file *f, const char *field,
				       const cJSON *v)
{
	if (cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1000000 ||
	    v->valuedouble != (double)(int)v->valuedouble)
		return kube_options_file_type(f, field, "a number from 0");
	f->o->verbosity = (int)v->valuedouble;
	return 0;
}

/* The fields kipvs uses. Everything else is reported by kube_options_file_ignore(). */
static const struct kube_options_field kube_options_fields[] = {
	KUBE_OPTIONS_FN("apiVersion", kube_options_file_api_version),
	KUBE_OPTIONS_FN("kind", kube_options_file_kind),
	KUBE_OPTIONS_FN("clientConnection.kubeconfig", kube_options_file_kubeconfig),
	KUBE_OPTIONS_FN("hostnameOverride", kube_options_file_hostname),
	KUBE_OPTIONS_FN("bindAddress", kube_options_file_bind_address),
	KUBE_OPTIONS_FN("healthzBindAddress", kube_options_file_healthz),
	KUBE_OPTIONS_FN("metricsBindAddress", kube_options_file_metrics),
	KUBE_OPTIONS_SET("clusterCIDR", kube_options_set_cluster_cidr),
	KUBE_OPTIONS_FN("mode", kube_options_file_mode),
	KUBE_OPTIONS_FN("ipvs.syncPeriod", kube_options_file_sync_period),
	KUBE_OPTIONS_MS("ipvs.minSyncPeriod", min_sync_period_ms),
	KUBE_OPTIONS_SET("ipvs.scheduler", kube_options_set_scheduler),
	KUBE_OPTIONS_FN("ipvs.excludeCIDRs", kube_options_file_exclude_cidrs),
	KUBE_OPTIONS_BOOL("ipvs.strictARP", strict_arp),
	KUBE_OPTIONS_MS("ipvs.tcpTimeout", tcp_timeout_ms),
	KUBE_OPTIONS_MS("ipvs.tcpFinTimeout", tcpfin_timeout_ms),
	KUBE_OPTIONS_MS("ipvs.udpTimeout", udp_timeout_ms),
	KUBE_OPTIONS_BOOL("iptables.masqueradeAll", masquerade_all),
	KUBE_OPTIONS_FN("nodePortAddresses", kube_options_file_nodeport_addresses),
	KUBE_OPTIONS_FN("serviceProxyName", kube_options_file_proxy_name),
	KUBE_OPTIONS_FN("logging.verbosity", kube_options_file_verbosity),
};

/* Applies one known field. 0, -EINVAL (f->err filled) or -ENOMEM. */
static int kube_options_file_apply(struct kube_options_file *f,
				   const struct kube_options_field *known, const char *field,
				   const cJSON *v)
{
	char why[KUBE_OPTIONS_WHY_MAX];
	const char *s;
	int r;

	switch (known->type) {
	case KUBE_OPTIONS_FIELD_FN:
		return known->apply(f, field, v);
	case KUBE_OPTIONS_FIELD_MS:
		return kube_options_file_ms(f, field, v,
					    (uint64_t *)((char *)f->o + known->offset));
	case KUBE_OPTIONS_FIELD_BOOL:
		return kube_options_file_bool(f, field, v, (bool *)((char *)f->o + known->offset));
	case KUBE_OPTIONS_FIELD_SET:
		r = kube_options_file_string(f, field, v, &s);
		if (r < 0)
			return r;
		r = known->set(f->o, s, false, why, sizeof(why));
		if (r == -EINVAL)
			return kube_options_file_invalid(f, field, s, why);
		return r;
	}
	return -EINVAL;
}

/*
 * True when v is Go's zero value for its field (null, false, 0, "", "0s", [], {}): kube-proxy
 * cannot tell it from an absent field, and kubeadm writes every field so.
 */
static bool kube_options_file_is_zero(const cJSON *v)
{
	int64_t ns;

	if (cJSON_IsNull(v) || cJSON_IsFalse(v))
		return true;
	if (cJSON_IsNumber(v))
		return v->valuedouble == 0;
	if (cJSON_IsString(v))
		return !v->valuestring[0] || strcmp(v->valuestring, "0") == 0 ||
		       (kube_options_duration_parse(v->valuestring, &ns) == 0 && ns == 0);
	if (cJSON_IsArray(v) || cJSON_IsObject(v))
		return v->child == NULL;
	return false;
}

static void kube_options_file_ignore(struct kube_options_file *f, const char *field,
				     const cJSON *v)
{
	char qpath[KUBE_OPTIONS_FILE_PATH_MAX + 8];

	log_quote(qpath, sizeof(qpath), f->path);
	if (kube_options_file_is_zero(v))
		log_debug("config", "kube-proxy setting not used by kipvs, unset", "file=%s field=%s",
			  qpath, field);
	else
		log_warn("config", "kube-proxy setting not used by kipvs; ignored",
			 "file=%s field=%s", qpath, field);
}

static int kube_options_file_walk(struct kube_options_file *f, const cJSON *obj,
				  const char *prefix)
{
	const cJSON *v;
	int r;

	cJSON_ArrayForEach(v, obj) {
		char field[KUBE_OPTIONS_FILE_PATH_MAX];
		const struct kube_options_field *known = NULL;

		if (prefix[0])
			(void)snprintf(field, sizeof(field), "%s.%s", prefix, v->string);
		else
			(void)snprintf(field, sizeof(field), "%s", v->string);
		for (size_t i = 0; i < ARRAY_SIZE(kube_options_fields); i++)
			if (strcmp(kube_options_fields[i].path, field) == 0)
				known = &kube_options_fields[i];
		if (known) {
			r = kube_options_file_apply(f, known, field, v);
			if (r < 0)
				return r;
		} else if (cJSON_IsObject(v) && v->child) {
			r = kube_options_file_walk(f, v, field);
			if (r < 0)
				return r;
		} else {
			kube_options_file_ignore(f, field, v);
		}
	}
	return 0;
}

/* healthzBindAddress and metricsBindAddress: "" means the default, an IP alone the port. */
static int kube_options_file_serving(struct kube_options_file *f, const cJSON *v,
				     const char *field, const char *def, uint16_t port,
				     struct kube_options_bind *ret)
{
	char why[KUBE_OPTIONS_WHY_MAX];
	const char *s = "";
	int r;

	if (v) {
		r = kube_options_file_string(f, field, v, &s);
		if (r < 0)
			return r;
	}
	if (!s[0]) {
		if (!f->bind_v6)
			return 0; /* the table's default stays */
		s = def;
	}
	if (kube_options_bind_parse(s, port, ret, why, sizeof(why)) < 0)
		return kube_options_file_invalid(f, field, s, why);
	return 0;
}

/* Parses the text into an array of documents: JSON when it starts with '{', YAML otherwise. */
static int kube_options_file_parse(struct kube_options_file *f, const char *text, size_t len,
				   cJSON **ret_docs)
{
	char why[160];
	size_t lead = strspn(text, " \t\r\n");
	int r;

	if (text[lead] != '{') {
		r = kube_yaml_parse(text, len, ret_docs, why, sizeof(why));
		if (r == -EBADMSG)
			return kube_options_file_fail(f, "%s", why);
		return r;
	}
	r = kube_yaml_parse_json(text, len, ret_docs, NULL);
	if (r == -EBADMSG)
		return kube_options_file_fail(f, "not valid JSON");
	return r;
}

/* The one KubeProxyConfiguration among the documents, or the only document. */
static const cJSON *kube_options_file_pick(const cJSON *docs)
{
	const cJSON *doc, *only = NULL, *picked = NULL;
	size_t n_docs = 0, n_picked = 0;

	cJSON_ArrayForEach(doc, docs) {
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");

		if (cJSON_IsNull(doc))
			continue;
		n_docs++;
		only = doc;
		if (cJSON_IsString(kind) && strcmp(kind->valuestring, KUBE_OPTIONS_KIND) == 0) {
			n_picked++;
			picked = doc;
		}
	}
	if (n_picked == 1)
		return picked;
	if (n_picked == 0 && n_docs == 1)
		return only;
	return NULL;
}

int kube_options_file_load(struct kube_options *o, const char *path, char *err, size_t err_size)
{
	struct kube_options_file f = { .o = o, .path = path, .err = err, .err_size = err_size };
	_cleanup_(cJSON_Deletep) cJSON *docs = NULL;
	_cleanup_free_ char *text = NULL;
	const cJSON *doc;
	size_t len = 0;
	int r;

	r = kube_file_read(path, KUBE_OPTIONS_FILE_MAX, &text, &len);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		snprintf(err, err_size, "kipvs: invalid value \"%s\" for --config: %s", path,
			 strerror(-r));
		return -EINVAL;
	}
	r = kube_options_file_parse(&f, text, len, &docs);
	if (r < 0)
		return r;
	doc = kube_options_file_pick(docs);
	if (!doc)
		return kube_options_file_fail(&f, "want one KubeProxyConfiguration document");
	if (!cJSON_IsObject(doc))
		return kube_options_file_fail(&f, "not a mapping");
	r = kube_options_file_walk(&f, doc, "");
	if (r < 0)
		return r;
	if (!f.have_api_version || !f.have_kind)
		return kube_options_file_fail(&f, "want apiVersion %s and kind %s",
					      KUBE_OPTIONS_API_VERSION, KUBE_OPTIONS_KIND);
	r = kube_options_file_serving(&f, f.healthz, "healthzBindAddress", "[::]:10256",
				      KUBE_OPTIONS_HEALTHZ_PORT, &o->healthz);
	if (r < 0)
		return r;
	return kube_options_file_serving(&f, f.metrics, "metricsBindAddress", "[::1]:10249",
					 KUBE_OPTIONS_METRICS_PORT, &o->metrics);
}
