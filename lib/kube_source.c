/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The --from file source: reads manifests (JSON, or YAML converted by kube_yaml.c) through the
 * same decoder as the API, and applies them to the cache as a full list would (replace_begin,
 * puts, replace_end). Watched mode re-reads on inotify events from the directory; a file that
 * fails to parse keeps the objects it gave last time, so a half-saved file deletes nothing.
 */
#include "kube_source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "cleanup.h"
#include "kube_cache.h"
#include "kube_decode.h"
#include "kube_model.h"
#include "kube_yaml.h"
#include "log.h"

/* Seconds to wait after an inotify event before re-reading, so a burst is read once. */
#define KUBE_SOURCE_SETTLE 0.1
/* Seconds between attempts to watch the directory again after it went away. */
#define KUBE_SOURCE_REWATCH 2.0

/* An object a file gave: enough to keep it when the file later fails to parse. */
struct kube_source_key {
	enum kube_kind kind;
	char *ns;
	char *name;
};

struct kube_source_file {
	char *path;
	struct kube_source_key *keys;
	size_t n_keys, cap_keys;
};

struct kube_source {
	struct ev_loop *loop;
	struct kube_cache *cache;
	char *path;
	char *proxy_name;
	kube_source_changed_fn fn;
	void *userdata;
	struct kube_source_file *files; /* what the last pass read, by path */
	size_t n_files;
	int inotify_fd;
	int wd;
	ev_io io;
	ev_timer settle;
	ev_timer rewatch;
};

static void kube_source_file_clear(struct kube_source_file *f)
{
	for (size_t i = 0; i < f->n_keys; i++) {
		free(f->keys[i].ns);
		free(f->keys[i].name);
	}
	free(f->keys);
	free(f->path);
	*f = (struct kube_source_file){0};
}

static void kube_source_files_free(struct kube_source_file *files, size_t n)
{
	for (size_t i = 0; files && i < n; i++)
		kube_source_file_clear(&files[i]);
	free(files);
}

static int kube_source_file_add_key(struct kube_source_file *f, enum kube_kind kind,
				    const struct kube_meta *meta)
{
	struct kube_source_key *k;

	if (f->n_keys == f->cap_keys) {
		size_t cap = f->cap_keys ? 2 * f->cap_keys : 8;

		k = reallocarray(f->keys, cap, sizeof(*k));
		if (!k)
			return -ENOMEM;
		f->keys = k;
		f->cap_keys = cap;
	}
	k = &f->keys[f->n_keys];
	k->kind = kind;
	k->ns = strdup(meta->namespace ? meta->namespace : "");
	k->name = strdup(meta->name);
	if (!k->ns || !k->name) {
		free(k->ns);
		free(k->name);
		return -ENOMEM;
	}
	f->n_keys++;
	return 0;
}

static bool kube_source_has_ext(const char *name)
{
	static const char *const exts[] = {".json", ".yaml", ".yml"};
	size_t len = strlen(name);

	for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
		size_t n = strlen(exts[i]);

		if (len > n && strcmp(name + len - n, exts[i]) == 0)
			return true;
	}
	return false;
}

static int kube_source_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The files to read: path itself, or the manifest files directly in the directory path
 * (hidden names skipped: ConfigMap mounts keep their data in "..data"), in name order.
 */
static int kube_source_list(const char *path, char ***ret_paths, size_t *ret_n)
{
	_cleanup_free_ char **paths = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int r = 0;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		paths = calloc(1, sizeof(*paths));
		if (!paths || !(paths[0] = strdup(path)))
			return -ENOMEM;
		*ret_paths = TAKE_PTR(paths);
		*ret_n = 1;
		return 0;
	}
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char *full;

		if (de->d_name[0] == '.' || !kube_source_has_ext(de->d_name))
			continue;
		if (asprintf(&full, "%s/%s", path, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		/* Follows symlinks: ConfigMap files are links into ..data. */
		if (stat(full, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(full);
			continue;
		}
		if (n == cap) {
			char **grown;

			cap = cap ? 2 * cap : 16;
			grown = reallocarray(paths, cap, sizeof(*paths));
			if (!grown) {
				free(full);
				r = -ENOMEM;
				break;
			}
			paths = grown;
		}
		paths[n++] = full;
	}
	closedir(dir);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			free(paths[i]);
		return r;
	}
	if (n > 1)
		qsort(paths, n, sizeof(*paths), kube_source_strcmp);
	*ret_paths = TAKE_PTR(paths);
	*ret_n = n;
	return 0;
}

/* Reads a whole file into a NUL-terminated buffer. 0 or -errno. */
static int kube_source_read(const char *path, char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *grown = realloc(buf, 2 * cap);

			if (!grown)
				return -ENOMEM;
			buf = grown;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static bool kube_source_is_json(const char *path)
{
	size_t len = strlen(path);

	return len > 5 && strcmp(path + len - 5, ".json") == 0;
}

/* Parses a file into an array of documents. 0, -EBADMSG (err filled), -errno. */
static int kube_source_parse(const char *path, cJSON **ret_docs, char *err, size_t err_size)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	cJSON *doc, *docs;
	int r;

	r = kube_source_read(path, &buf, &len);
	if (r < 0) {
		snprintf(err, err_size, "%s", strerror(-r));
		return r;
	}
	if (!kube_source_is_json(path))
		return kube_yaml_parse(buf, len, ret_docs, err, err_size);
	doc = cJSON_ParseWithLength(buf, len);
	if (!doc) {
		const char *at = cJSON_GetErrorPtr();
		size_t line = 1;

		for (const char *p = buf; at && p < at && p < buf + len; p++)
			line += *p == '\n';
		snprintf(err, err_size, "line %zu: not valid JSON", line);
		return -EBADMSG;
	}
	docs = cJSON_CreateArray();
	if (!docs || !cJSON_AddItemToArray(docs, doc)) {
		cJSON_Delete(doc);
		cJSON_Delete(docs);
		return -ENOMEM;
	}
	*ret_docs = docs;
	return 0;
}

struct kube_source_pass {
	struct kube_cache *cache;
	const char *proxy_name;
	struct kube_source_file *file;
	int count;
};

static int kube_source_on_object(struct kube_object *obj, void *userdata)
{
	struct kube_source_pass *pass = userdata;
	const struct kube_meta *meta = kube_object_meta(obj);
	int r;

	if (obj->kind == KUBE_KIND_SERVICE && !kube_service_is_proxied(obj->svc, pass->proxy_name)) {
		log_debug("kube", "service not proxied here", "svc=%s/%s", meta->namespace,
			  meta->name);
		kube_object_clear(obj);
		return 0;
	}
	r = kube_source_file_add_key(pass->file, obj->kind, meta);
	if (r < 0) {
		kube_object_clear(obj);
		return r;
	}
	switch (obj->kind) {
	case KUBE_KIND_SERVICE:
		r = kube_cache_put_service(pass->cache, TAKE_PTR(obj->svc));
		break;
	case KUBE_KIND_ENDPOINT_SLICE:
		r = kube_cache_put_slice(pass->cache, TAKE_PTR(obj->slice));
		break;
	case KUBE_KIND_NODE:
		r = kube_cache_put_node(pass->cache, TAKE_PTR(obj->node));
		break;
	case _KUBE_KIND_MAX:
		r = -EINVAL;
		break;
	}
	if (r < 0)
		return r;
	pass->count++;
	return 0;
}

/* Reads one file into the cache; its keys go to file. 0, -EBADMSG, -errno. */
static int kube_source_apply_file(struct kube_source_pass *pass, const char *path)
{
	char err[200], qpath[PATH_MAX + 8], qerr[240];
	const cJSON *doc;
	cJSON *docs = NULL;
	int r;

	r = kube_source_parse(path, &docs, err, sizeof(err));
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		log_warn("kube", "file not read, keeping its objects", "file=%s err=%s",
			 log_quote(qpath, sizeof(qpath), path), log_quote(qerr, sizeof(qerr), err));
		return -EBADMSG;
	}
	cJSON_ArrayForEach(doc, docs)
	{
		r = kube_decode_document(doc, path, kube_source_on_object, pass);
		if (r == -EBADMSG)
			continue; /* logged; a stray scalar document does not void the file */
		if (r < 0)
			break;
	}
	cJSON_Delete(docs);
	return r < 0 && r != -EBADMSG ? r : 0;
}

static const struct kube_source_file *kube_source_find(const struct kube_source_file *files,
							size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(files[i].path, path) == 0)
			return &files[i];
	return NULL;
}

/* Keeps the objects an unreadable file gave last time: marks them seen, carries the keys. */
static int kube_source_keep(struct kube_cache *cache, const struct kube_source_file *old,
			    struct kube_source_file *file)
{
	if (!old)
		return 0;
	for (size_t i = 0; i < old->n_keys; i++) {
		const struct kube_source_key *k = &old->keys[i];
		struct kube_meta meta = {.namespace = k->ns, .name = k->name};
		int r;

		r = kube_cache_mark_seen(cache, k->kind, k->ns, k->name);
		if (r >= 0)
			r = kube_source_file_add_key(file, k->kind, &meta);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * One pass over the files. *files holds what the last pass read (NULL/0 for none) and is
 * replaced by this pass's list. Returns as kube_source_load().
 */
static int kube_source_pass_run(struct kube_cache *cache, const char *path, const char *proxy_name,
				struct kube_source_file **files, size_t *n_files)
{
	struct kube_source_pass pass = {.cache = cache, .proxy_name = proxy_name};
	struct kube_source_file *next;
	char qpath[PATH_MAX + 8];
	char **paths = NULL;
	size_t n = 0;
	bool bad = false;
	int r, fatal = 0;

	r = kube_source_list(path, &paths, &n);
	if (r < 0) {
		log_warn("kube", "cannot read manifests, keeping what was loaded",
			 "path=%s err=\"%s\"", log_quote(qpath, sizeof(qpath), path), strerror(-r));
		return r;
	}
	next = calloc(n ? n : 1, sizeof(*next));
	if (!next) {
		for (size_t i = 0; i < n; i++)
			free(paths[i]);
		free(paths);
		return -ENOMEM;
	}
	for (int k = 0; k < _KUBE_KIND_MAX; k++)
		kube_cache_replace_begin(cache, (enum kube_kind)k);
	for (size_t i = 0; i < n; i++) {
		next[i].path = paths[i];
		if (fatal < 0)
			continue;
		pass.file = &next[i];
		r = kube_source_apply_file(&pass, paths[i]);
		if (r == -EBADMSG) {
			bad = true;
			r = kube_source_keep(cache, kube_source_find(*files, *n_files, paths[i]),
					     &next[i]);
		}
		if (r < 0)
			fatal = r;
	}
	free(paths);
	if (fatal < 0) {
		/* Out of memory half-way: delete nothing rather than what was not reached. */
		for (size_t f = 0; f < *n_files; f++)
			for (size_t i = 0; i < (*files)[f].n_keys; i++)
				(void)kube_cache_mark_seen(cache, (*files)[f].keys[i].kind,
							   (*files)[f].keys[i].ns,
							   (*files)[f].keys[i].name);
	}
	for (int k = 0; k < _KUBE_KIND_MAX; k++)
		kube_cache_replace_end(cache, (enum kube_kind)k);
	if (fatal < 0) {
		kube_source_files_free(next, n);
		return fatal;
	}
	kube_source_files_free(*files, *n_files);
	*files = next;
	*n_files = n;
	return bad ? -EBADMSG : pass.count;
}

int kube_source_load(struct kube_cache *cache, const char *path, const char *proxy_name)
{
	struct kube_source_file *files = NULL;
	size_t n = 0;
	int r;

	r = kube_source_pass_run(cache, path, proxy_name, &files, &n);
	kube_source_files_free(files, n);
	return r;
}

int kube_source_new(struct ev_loop *loop, struct kube_cache *cache, const char *path,
		    const char *proxy_name, kube_source_changed_fn fn, void *userdata,
		    struct kube_source **ret_source)
{
	struct kube_source *src = calloc(1, sizeof(*src));

	if (!src)
		return -ENOMEM;
	src->loop = loop;
	src->cache = cache;
	src->fn = fn;
	src->userdata = userdata;
	src->inotify_fd = -1;
	src->wd = -1;
	src->path = strdup(path);
	if (proxy_name)
		src->proxy_name = strdup(proxy_name);
	if (!src->path || (proxy_name && !src->proxy_name)) {
		kube_source_free(src);
		return -ENOMEM;
	}
	*ret_source = src;
	return 0;
}

int kube_source_reload(struct kube_source *src)
{
	int r;

	r = kube_source_pass_run(src->cache, src->path, src->proxy_name, &src->files,
				 &src->n_files);
	if (src->fn)
		src->fn(src, src->userdata);
	return r;
}

/* The directory to watch: path when it is one, else its parent. */
static int kube_source_watch(struct kube_source *src)
{
	_cleanup_free_ char *dir = NULL;
	struct stat st;
	char *slash;

	if (stat(src->path, &st) == 0 && S_ISDIR(st.st_mode)) {
		dir = strdup(src->path);
	} else {
		dir = strdup(src->path);
		slash = dir ? strrchr(dir, '/') : NULL;
		if (dir && !slash) {
			free(dir);
			dir = strdup(".");
		} else if (slash) {
			slash[slash == dir ? 1 : 0] = '\0';
		}
	}
	if (!dir)
		return -ENOMEM;
	src->wd = inotify_add_watch(src->inotify_fd, dir,
				    IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
					    IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF);
	return src->wd < 0 ? -errno : 0;
}

static void kube_source_schedule(struct kube_source *src)
{
	ev_timer_stop(src->loop, &src->settle);
	ev_timer_set(&src->settle, KUBE_SOURCE_SETTLE, 0.);
	ev_timer_start(src->loop, &src->settle);
}

static void kube_source_on_settle(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct kube_source *src = container_of(w, struct kube_source, settle);

	int r = kube_source_reload(src);

	(void)r; /* failures are logged inside; the cache keeps what it had */
}

static void kube_source_on_rewatch(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct kube_source *src = container_of(w, struct kube_source, rewatch);
	char qpath[PATH_MAX + 8];

	if (kube_source_watch(src) < 0)
		return;
	ev_timer_stop(loop, w);
	log_info("kube", "watching manifests again", "path=%s",
		 log_quote(qpath, sizeof(qpath), src->path));
	kube_source_schedule(src);
}

static void kube_source_on_inotify(struct ev_loop *loop, ev_io *w, int revents)
{
	struct kube_source *src = container_of(w, struct kube_source, io);
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	char qpath[PATH_MAX + 8];
	bool lost = false;

	for (;;) {
		ssize_t n = read(src->inotify_fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
				lost = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (lost && src->wd >= 0) {
		/* The directory itself went away or moved: keep the objects, look again later. */
		(void)inotify_rm_watch(src->inotify_fd, src->wd);
		src->wd = -1;
		log_warn("kube", "manifest directory gone, keeping what was loaded",
			 "path=%s retry_in=2s", log_quote(qpath, sizeof(qpath), src->path));
		ev_timer_again(loop, &src->rewatch);
		return;
	}
	kube_source_schedule(src);
}

int kube_source_start(struct kube_source *src)
{
	int r;

	src->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (src->inotify_fd < 0)
		return -errno;
	r = kube_source_watch(src);
	if (r < 0)
		return r;
	ev_io_init(&src->io, kube_source_on_inotify, src->inotify_fd, EV_READ);
	ev_io_start(src->loop, &src->io);
	ev_timer_init(&src->settle, kube_source_on_settle, KUBE_SOURCE_SETTLE, 0.);
	ev_init(&src->rewatch, kube_source_on_rewatch);
	src->rewatch.repeat = KUBE_SOURCE_REWATCH;
	return kube_source_reload(src);
}

struct kube_source *kube_source_free(struct kube_source *src)
{
	if (!src)
		return NULL;
	if (src->inotify_fd >= 0) {
		ev_io_stop(src->loop, &src->io);
		ev_timer_stop(src->loop, &src->settle);
		ev_timer_stop(src->loop, &src->rewatch);
		close(src->inotify_fd);
	}
	kube_source_files_free(src->files, src->n_files);
	free(src->path);
	free(src->proxy_name);
	free(src);
	return NULL;
}
