/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The --from file source: reads manifests (JSON or YAML, one item at a time: kube_manifest.c)
 * through the same decoder as the API, and applies them to the cache as a full list would
 * (replace_begin, puts, replace_end). Watched mode re-reads on inotify events from the
 * directory; a file that fails to parse keeps the objects it gave last time, so a half-saved
 * file deletes nothing.
 */
#include "kube_source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>
#include <uthash.h>

#include "cleanup.h"
#include "kube_cache.h"
#include "kube_decode.h"
#include "kube_file.h"
#include "kube_manifest.h"
#include "kube_model.h"
#include "kube_source_claims.h"
#include "kube_unproxied.h"
#include "log.h"
#include "sync_phase.h"

/* Seconds to wait after an inotify event before re-reading, so a burst is read once. */
#define KUBE_SOURCE_SETTLE 0.1
/* Seconds between attempts to watch the directory again after it went away. */
#define KUBE_SOURCE_REWATCH 2.0

/* An object a file gave: enough to keep it when the file is skipped or fails to parse. */
struct kube_source_key {
	enum kube_kind kind;
	char *ns;
	char *name;
	bool kept; /* its list item was as last time: not decoded again, kept in the cache */
};

/*
 * A JSON list item that gave an object, by the hash of its text (and length and list kind):
 * when a changed file is read again, an item with the same hash is the same object, kept
 * without parsing or decoding it (a flip in a 20 MB file decodes one item, not 110 000).
 */
struct kube_source_item {
	uint64_t hash;
	size_t key; /* index into the file's keys */
};

/* What one pass knows about one file; the next pass compares against it. */
struct kube_source_file {
	char *path;
	struct kube_source_key *keys; /* the objects it gave (the last ones, if bad) */
	size_t n_keys, cap_keys;
	struct kube_unproxied *unproxied; /* its Services the proxy filter dropped */
	struct kube_source_item *items;	  /* sorted by hash; the keys' list items */
	size_t n_items, cap_items;
	uint64_t hash; /* of the content read (with len), when `read` */
	size_t len;
	bool read; /* the content was read, so hash and len tell whether it changed */
	bool bad; /* that content did not parse: keys come from an earlier read */
	bool contested; /* one of its keys was also given by another file */
	/* This pass only: decoded objects, put into the cache in file order at the end. */
	struct kube_object *objs;
	size_t n_objs, cap_objs;
	bool decoded;
	bool symlink; /* the directory entry is a link (its target may change unnamed) */
};

/* A file name inotify reported since the last pass (uthash by name). */
struct kube_source_name {
	UT_hash_handle hh;
	char name[];
};

/* What a pass leaves for the next one. */
struct kube_source_state {
	struct kube_source_file *files; /* what it read, by path */
	size_t n_files;
	struct kube_source_claims claims; /* the files' keys, counted */
	bool claims_valid; /* claims counts them (not before a pass, nor after one ran out of memory) */
};

struct kube_source {
	struct ev_loop *loop;
	struct kube_cache *cache;
	char *path;
	char *proxy_name;
	kube_source_changed_fn fn;
	void *userdata;
	struct kube_source_state last;
	int inotify_fd;
	int wd;
	ev_io io;
	ev_timer settle;
	ev_timer rewatch;
	/*
	 * The names inotify reported since the last pass: the next pass reads only those files
	 * and keeps the others as they were (unless touched_all: a lost event, a new watch).
	 */
	struct kube_source_name *touched;
	bool touched_all;
};

static void kube_source_touched_clear(struct kube_source *src)
{
	struct kube_source_name *e, *tmp;

	HASH_ITER(hh, src->touched, e, tmp)
	{
		HASH_DEL(src->touched, e);
		free(e);
	}
	src->touched_all = false;
}

static void kube_source_touch(struct kube_source *src, const char *name)
{
	size_t len = strlen(name);
	struct kube_source_name *e;

	HASH_FIND(hh, src->touched, name, len, e);
	if (e)
		return;
	e = malloc(sizeof(*e) + len + 1);
	if (!e) {
		src->touched_all = true; /* cannot remember it: read everything */
		return;
	}
	memcpy(e->name, name, len + 1);
	HASH_ADD(hh, src->touched, name[0], len, e);
}

/*
 * Whether f may be kept unread: only names were reported, not its, and it is no symlink (a
 * ConfigMap mount's file changes when the ..data link it points through is swapped, and
 * inotify names only ..data).
 */
static bool kube_source_untouched(const struct kube_source_name *touched, bool only_touched,
				  const struct kube_source_file *f)
{
	const char *slash = strrchr(f->path, '/'), *name = slash ? slash + 1 : f->path;
	struct kube_source_name *e;

	if (!only_touched || f->symlink)
		return false;
	HASH_FIND(hh, touched, name, strlen(name), e);
	return !e;
}

static void kube_source_keys_clear(struct kube_source_file *f)
{
	for (size_t i = 0; i < f->n_keys; i++) {
		free(f->keys[i].ns);
		free(f->keys[i].name);
	}
	free(f->keys);
	f->keys = NULL;
	f->n_keys = f->cap_keys = 0;
}

static void kube_source_objs_clear(struct kube_source_file *f)
{
	for (size_t i = 0; i < f->n_objs; i++)
		kube_object_clear(&f->objs[i]);
	free(f->objs);
	f->objs = NULL;
	f->n_objs = f->cap_objs = 0;
}

static void kube_source_items_clear(struct kube_source_file *f)
{
	free(f->items);
	f->items = NULL;
	f->n_items = f->cap_items = 0;
}

static void kube_source_file_clear(struct kube_source_file *f)
{
	kube_source_keys_clear(f);
	kube_source_items_clear(f);
	kube_source_objs_clear(f);
	kube_unproxied_free(f->unproxied);
	free(f->path);
	*f = (struct kube_source_file){0};
}

static void kube_source_files_free(struct kube_source_file *files, size_t n)
{
	for (size_t i = 0; files && i < n; i++)
		kube_source_file_clear(&files[i]);
	free(files);
}

/* Moves the keys and dropped Services old holds into f (the file was not decoded again). */
static void kube_source_file_carry(struct kube_source_file *old, struct kube_source_file *f)
{
	if (!old)
		return;
	kube_source_keys_clear(f);
	f->keys = TAKE_PTR(old->keys);
	f->n_keys = old->n_keys;
	f->cap_keys = old->cap_keys;
	old->n_keys = old->cap_keys = 0;
	kube_source_items_clear(f);
	f->items = TAKE_PTR(old->items);
	f->n_items = old->n_items;
	f->cap_items = old->cap_items;
	old->n_items = old->cap_items = 0;
	kube_unproxied_free(f->unproxied);
	f->unproxied = TAKE_PTR(old->unproxied);
}

static int kube_source_file_add_key(struct kube_source_file *f, enum kube_kind kind,
				    const char *ns, const char *name)
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
	k->kept = false;
	k->ns = strdup(ns);
	k->name = strdup(name);
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

static int kube_source_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kube_source_file *)a)->path,
		      ((const struct kube_source_file *)b)->path);
}

/*
 * The files to read: path itself, or the manifest files directly in the directory path
 * (hidden names skipped: ConfigMap mounts keep their data in "..data"), in name order, each
 * with its path and whether its entry is a symlink; the rest of each entry is zero.
 */
static int kube_source_list(const char *path, struct kube_source_file **ret_files,
			    size_t *ret_n)
{
	struct kube_source_file *files = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	struct stat st, lst;
	DIR *dir;
	int r = 0;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		files = calloc(1, sizeof(*files));
		if (!files || !(files[0].path = strdup(path))) {
			free(files);
			return -ENOMEM;
		}
		files[0].symlink = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode);
		*ret_files = files;
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
			struct kube_source_file *grown;

			cap = cap ? 2 * cap : 16;
			grown = reallocarray(files, cap, sizeof(*files));
			if (!grown) {
				free(full);
				r = -ENOMEM;
				break;
			}
			files = grown;
		}
		files[n] = (struct kube_source_file){
		    .path = full,
		    .symlink = de->d_type == DT_LNK ||
			       (de->d_type == DT_UNKNOWN && lstat(full, &lst) == 0 &&
				S_ISLNK(lst.st_mode)),
		};
		n++;
	}
	closedir(dir);
	if (r < 0) {
		kube_source_files_free(files, n);
		return r;
	}
	if (n > 1)
		qsort(files, n, sizeof(*files), kube_source_file_cmp);
	/* An empty directory still gets an array: the pass keeps it as its list of files. */
	if (!files && !(files = calloc(1, sizeof(*files))))
		return -ENOMEM;
	*ret_files = files;
	*ret_n = n;
	return 0;
}

/* FNV-1a: tells a changed file from an unchanged one (with the length). */
/*
 * A hash of a file's or an item's text, to tell whether it changed: eight bytes per step (a
 * multiply and a shift), as every changed file is hashed whole and item by item (20 MB per
 * endpoint flip in one large slices.json), and a byte-wise hash cost a multiply per byte.
 */
static uint64_t kube_source_hash(const char *buf, size_t len)
{
	const uint64_t k = 0x9e3779b97f4a7c15ULL;
	uint64_t h = 0xcbf29ce484222325ULL ^ (len * k), w;
	size_t i = 0;

	for (; i + sizeof(w) <= len; i += sizeof(w)) {
		memcpy(&w, buf + i, sizeof(w));
		h = (h ^ w) * k;
		h ^= h >> 32;
	}
	w = 0;
	if (len > i)
		memcpy(&w, buf + i, len - i);
	h = (h ^ w) * k;
	return h ^ (h >> 29);
}

struct kube_source_pass {
	const char *proxy_name;
	struct kube_source_file *file; /* the file being decoded */
	const struct kube_unproxied *prev; /* the Services it dropped last time */
	const struct kube_source_file *old; /* its items last time; NULL: decode every item */
	uint64_t item_hash;		    /* of the item being decoded */
	bool in_item;			    /* ... and it has not given an object yet */
};

static int kube_source_item_cmp(const void *a, const void *b)
{
	const struct kube_source_item *x = a, *y = b;

	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static int kube_source_item_add(struct kube_source_file *f, uint64_t hash, size_t key)
{
	if (f->n_items == f->cap_items) {
		size_t cap = f->cap_items ? 2 * f->cap_items : 64;
		struct kube_source_item *grown = reallocarray(f->items, cap, sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		f->items = grown;
		f->cap_items = cap;
	}
	f->items[f->n_items++] = (struct kube_source_item){.hash = hash, .key = key};
	return 0;
}

/*
 * kube_manifest_item_fn: an item whose text (with its length and list kind) hashes as one the
 * file had last time gives the same object; its key is kept and the item is not decoded.
 */
static int kube_source_on_item(const char *text, size_t len, const char *list_kind,
			       void *userdata)
{
	struct kube_source_pass *pass = userdata;
	struct kube_source_file *f = pass->file;
	const struct kube_source_item *hit = NULL;
	struct kube_source_item probe;
	int r;

	probe.hash = kube_source_hash(text, len) ^ ((uint64_t)len << 40) ^
		     kube_source_hash(list_kind, strlen(list_kind));
	pass->item_hash = probe.hash;
	pass->in_item = true;
	if (pass->old && pass->old->n_items > 0)
		hit = bsearch(&probe, pass->old->items, pass->old->n_items, sizeof(probe),
			      kube_source_item_cmp);
	if (!hit)
		return 0;
	const struct kube_source_key *k = &pass->old->keys[hit->key];

	r = kube_source_file_add_key(f, k->kind, k->ns, k->name);
	if (r == 0)
		r = kube_source_item_add(f, probe.hash, f->n_keys - 1);
	if (r < 0)
		return r;
	f->keys[f->n_keys - 1].kept = true;
	pass->in_item = false;
	return 1;
}

/* Keeps a decoded object in the file's list (the proxy filter applied); takes ownership. */
static int kube_source_on_object(struct kube_object *obj, void *userdata)
{
	struct kube_source_pass *pass = userdata;
	struct kube_source_file *f = pass->file;
	int r;

	if (obj->kind == KUBE_KIND_SERVICE) {
		r = kube_unproxied_filter(pass->prev, &f->unproxied, obj->svc, pass->proxy_name);
		if (r <= 0) {
			kube_object_clear(obj);
			return r;
		}
	}
	if (f->n_objs == f->cap_objs) {
		size_t cap = f->cap_objs ? 2 * f->cap_objs : 8;
		struct kube_object *grown = reallocarray(f->objs, cap, sizeof(*grown));

		if (!grown) {
			kube_object_clear(obj);
			return -ENOMEM;
		}
		f->objs = grown;
		f->cap_objs = cap;
	}
	const struct kube_meta *meta = kube_object_meta(obj);

	r = kube_source_file_add_key(f, obj->kind, meta->namespace ? meta->namespace : "",
				     meta->name);
	if (r == 0 && pass->in_item) {
		/* The item's first object is what its hash stands for next time. */
		r = kube_source_item_add(f, pass->item_hash, f->n_keys - 1);
		pass->in_item = false;
	}
	if (r < 0) {
		kube_object_clear(obj);
		return r;
	}
	f->objs[f->n_objs++] = *obj;
	*obj = (struct kube_object){0};
	return 0;
}

/*
 * Decodes a file's text into f's objects, keys and dropped Services; old (or NULL) is what
 * the last pass knew of the file. The objects are gathered apart and replace f's only when
 * the whole file parsed. 0; -EBADMSG when it does not parse (logged; f keeps the objects it
 * gave before); -ENOMEM.
 */
static int kube_source_decode(struct kube_source_pass *pass, struct kube_source_file *f,
			      struct kube_source_file *old, bool force, const char *buf,
			      size_t len)
{
	struct kube_source_file fresh = {0};
	char err[200], qpath[PATH_MAX + 8], qerr[240];
	int r;

	/* The dropped Services are recorded anew; those dropped last time are not logged again. */
	pass->file = &fresh;
	pass->prev = f->unproxied ? f->unproxied : old ? old->unproxied : NULL;
	pass->old = !force && old && !old->contested && !old->bad ? old : NULL;
	r = kube_manifest_decode(f->path, buf, len, kube_source_on_item, kube_source_on_object,
				 pass, err, sizeof(err));
	pass->file = NULL;
	pass->prev = NULL;
	pass->old = NULL;
	pass->in_item = false;
	if (r < 0) {
		kube_source_file_clear(&fresh);
		if (r != -EBADMSG)
			return r;
		log_warn("kube", "file not read, keeping its objects", "file=%s err=%s",
			 log_quote(qpath, sizeof(qpath), f->path),
			 log_quote(qerr, sizeof(qerr), err));
		kube_source_file_carry(old, f);
		f->bad = true;
		return r;
	}
	kube_source_keys_clear(f);
	kube_source_objs_clear(f);
	kube_source_items_clear(f);
	kube_unproxied_free(f->unproxied);
	if (fresh.n_items > 0)
		qsort(fresh.items, fresh.n_items, sizeof(*fresh.items), kube_source_item_cmp);
	f->items = fresh.items;
	f->n_items = fresh.n_items;
	f->cap_items = fresh.cap_items;
	f->keys = fresh.keys;
	f->n_keys = fresh.n_keys;
	f->cap_keys = fresh.cap_keys;
	f->objs = fresh.objs;
	f->n_objs = fresh.n_objs;
	f->cap_objs = fresh.cap_objs;
	f->unproxied = fresh.unproxied;
	f->bad = false;
	f->decoded = true;
	return 0;
}

/* The file of that path in files (sorted by path, as kube_source_list() leaves them), or NULL. */
static struct kube_source_file *kube_source_find(struct kube_source_file *files, size_t n,
						 const char *path)
{
	struct kube_source_file probe = {.path = (char *)path};

	return n > 0 ? bsearch(&probe, files, n, sizeof(*files), kube_source_file_cmp) : NULL;
}

/*
 * Reads one file for the pass; old (or NULL) is what the last pass knew of it. Unless force
 * is set, an unchanged file (same length and hash as last time, and none of its objects also
 * given by another file) is not decoded again: it keeps its keys, so its objects are kept,
 * and nothing it logged last time is logged again. 0, -EBADMSG (the file could not be read or
 * did not parse: logged, the objects it gave before are kept), -ENOMEM.
 */
static int kube_source_file_load(struct kube_source_pass *pass, struct kube_source_file *f,
				 struct kube_source_file *old, bool force, bool untouched)
{
	_cleanup_free_ char *buf = NULL;
	char qpath[PATH_MAX + 8], qerr[240];
	size_t len = 0;
	uint64_t hash;
	int r;

	if (untouched && !force && old && old->read && !old->contested) {
		/* Not reported changed: kept without reading (or hashing) it again. */
		kube_source_file_carry(old, f);
		f->bad = old->bad;
		f->read = true;
		f->hash = old->hash;
		f->len = old->len;
		return f->bad ? -EBADMSG : 0;
	}
	r = kube_file_read(f->path, 0, &buf, &len);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		log_warn("kube", "file not read, keeping its objects", "file=%s err=%s",
			 log_quote(qpath, sizeof(qpath), f->path),
			 log_quote(qerr, sizeof(qerr), strerror(-r)));
		kube_source_file_carry(old, f);
		f->read = false;
		f->bad = true;
		return -EBADMSG;
	}
	hash = kube_source_hash(buf, len);
	if (!force && old && old->read && !old->contested && old->len == len && old->hash == hash) {
		kube_source_file_carry(old, f);
		f->bad = old->bad;
	} else {
		r = kube_source_decode(pass, f, old, force, buf, len);
		if (r == -ENOMEM)
			return r;
	}
	f->read = true;
	f->hash = hash;
	f->len = len;
	return f->bad ? -EBADMSG : 0;
}

/* Key `key` of file `file` gives an object that file `over` gave before it. */
struct kube_source_twice {
	size_t file, key, over;
};

/*
 * One pass over every key of every file, in file order: counts the claims anew, marks the
 * files that give an object another file also gives (contested: always decoded, so that the
 * last file in name order wins as it would on a full re-read) and lists each object given more
 * than once, for kube_source_report_twice(). *ret_twice (freed by the caller) replaces the
 * list given. 0 or -ENOMEM (the claims are then empty).
 */
static int kube_source_claims_run(struct kube_source_claims *claims, struct kube_source_file *next,
				  size_t n, struct kube_source_twice **ret_twice,
				  size_t *ret_n_twice)
{
	struct kube_source_twice *twice = NULL;
	size_t n_twice = 0, cap = 0;
	int r = 0;

	kube_source_claims_clear(claims);
	for (size_t i = 0; i < n; i++)
		next[i].contested = false;
	for (size_t i = 0; i < n && r == 0; i++)
		for (size_t k = 0; k < next[i].n_keys; k++) {
			const struct kube_source_key *key = &next[i].keys[k];
			struct kube_source_claim *c =
			    kube_source_claims_add(claims, key->kind, key->ns, key->name);

			if (!c) {
				r = -ENOMEM;
				break;
			}
			if (c->last_file != 0) {
				if (n_twice == cap) {
					struct kube_source_twice *grown;

					cap = cap ? 2 * cap : 8;
					grown = reallocarray(twice, cap, sizeof(*grown));
					if (!grown) {
						r = -ENOMEM;
						break;
					}
					twice = grown;
				}
				twice[n_twice++] = (struct kube_source_twice){i, k, c->last_file - 1};
				if (c->last_file != i + 1)
					next[i].contested = next[c->last_file - 1].contested = true;
			}
			c->last_file = i + 1;
		}
	if (r < 0) {
		kube_source_claims_clear(claims);
		free(twice);
		return r;
	}
	free(*ret_twice);
	*ret_twice = twice;
	*ret_n_twice = n_twice;
	return 0;
}

/*
 * Finds the contested files and the objects given twice (kube_source_claims_run), then
 * decodes the unchanged files this pass skipped that turn out to be contested (*ret_bad set
 * when one of them no longer parses). Should one of those have changed since it was read,
 * the keys are counted again. 0 or -ENOMEM.
 */
static int kube_source_contest(struct kube_source_pass *pass, struct kube_source_claims *claims,
			       struct kube_source_file *next, size_t n,
			       struct kube_source_twice **ret_twice, size_t *ret_n_twice,
			       bool *ret_bad)
{
	bool changed = false;
	int r;

	r = kube_source_claims_run(claims, next, n, ret_twice, ret_n_twice);
	for (size_t i = 0; i < n && r == 0; i++) {
		struct kube_source_file *f = &next[i];
		uint64_t hash = f->hash;
		size_t len = f->len;

		if (!f->contested || f->decoded || f->bad)
			continue;
		r = kube_source_file_load(pass, f, NULL, true, false);
		/* It changed since it was read and no longer parses: logged, kept. */
		if (r == -EBADMSG)
			*ret_bad = true;
		if (r != -ENOMEM)
			r = 0;
		changed |= f->hash != hash || f->len != len || f->bad;
	}
	if (r == 0 && changed)
		r = kube_source_claims_run(claims, next, n, ret_twice, ret_n_twice);
	return r;
}

/* The log key of an object of kind, as the decoder's lines name it. */
static const char *kube_source_kind_key(enum kube_kind kind)
{
	switch (kind) {
	case KUBE_KIND_SERVICE:
		return "svc";
	case KUBE_KIND_ENDPOINT_SLICE:
		return "slice";
	case KUBE_KIND_NODE:
		return "node";
	case _KUBE_KIND_MAX:
		break;
	}
	return "object";
}

/*
 * Reports each object the files give more than once (twice, from kube_source_claims_run()):
 * the cache keeps the last copy put, which is the last in file-name order (or the later one
 * in one file). Said on every pass that reads the files, so an operator who fixes one file
 * sees the line go.
 */
static void kube_source_report_twice(const struct kube_source_file *next,
				     const struct kube_source_twice *twice, size_t n_twice)
{
	char qobj[300], qwin[PATH_MAX + 8], qlost[PATH_MAX + 8], obj[280];

	for (size_t t = 0; t < n_twice; t++) {
		const struct kube_source_key *key = &next[twice[t].file].keys[twice[t].key];

		if (*key->ns)
			(void)snprintf(obj, sizeof(obj), "%.130s/%.130s", key->ns, key->name);
		else
			(void)snprintf(obj, sizeof(obj), "%.260s", key->name);
		log_warn("kube", "object given twice, the later one is used",
			 "kind=%s %s=%s file=%s over=%s reason=\"%s\"",
			 kube_kind_to_string(key->kind), kube_source_kind_key(key->kind),
			 log_quote(qobj, sizeof(qobj), obj),
			 log_quote(qwin, sizeof(qwin), next[twice[t].file].path),
			 log_quote(qlost, sizeof(qlost), next[twice[t].over].path),
			 twice[t].over == twice[t].file ? "later in the same file"
							: "later in file-name order");
	}
}

/* Puts the objects a file decoded into the cache, in file order. 0 or -ENOMEM. */
static int kube_source_put_objects(struct kube_cache *cache, struct kube_source_file *f)
{
	int r = 0;

	for (size_t k = 0; f->decoded && k < f->n_objs && r >= 0; k++) {
		struct kube_object *obj = &f->objs[k];

		switch (obj->kind) {
		case KUBE_KIND_SERVICE:
			r = kube_cache_put_service(cache, TAKE_PTR(obj->svc));
			break;
		case KUBE_KIND_ENDPOINT_SLICE:
			r = kube_cache_put_slice(cache, TAKE_PTR(obj->slice));
			break;
		case KUBE_KIND_NODE:
			r = kube_cache_put_node(cache, TAKE_PTR(obj->node));
			break;
		case _KUBE_KIND_MAX:
			r = -EINVAL;
			break;
		}
	}
	kube_source_objs_clear(f);
	f->decoded = false;
	return r < 0 ? r : 0;
}

/* The objects the files give (those of a file that did not parse are kept, not counted). */
static int kube_source_count(const struct kube_source_file *next, size_t n)
{
	int count = 0;

	for (size_t i = 0; i < n; i++)
		if (!next[i].bad)
			count += (int)next[i].n_keys;
	return count;
}

/*
 * Applies the files as a full list: puts the decoded objects and keeps the objects of the
 * files not decoded, between the cache's replace_begin and replace_end. 0 or -ENOMEM.
 */
static int kube_source_apply(struct kube_cache *cache, struct kube_source_file *next, size_t n)
{
	int r = 0;

	for (size_t i = 0; i < n && r >= 0; i++) {
		struct kube_source_file *f = &next[i];

		/* Not decoded again, or an item of it that was as last time: kept as cached. */
		for (size_t k = 0; k < f->n_keys && r >= 0; k++)
			if (!f->decoded || f->keys[k].kept)
				r = kube_cache_mark_seen(cache, f->keys[k].kind, f->keys[k].ns,
							 f->keys[k].name);
		if (r >= 0)
			r = kube_source_put_objects(cache, f);
	}
	return r;
}

static void kube_source_delete(struct kube_cache *cache, const struct kube_source_key *k)
{
	switch (k->kind) {
	case KUBE_KIND_SERVICE:
		(void)kube_cache_delete_service(cache, k->ns, k->name);
		break;
	case KUBE_KIND_ENDPOINT_SLICE:
		(void)kube_cache_delete_slice(cache, k->ns, k->name);
		break;
	case KUBE_KIND_NODE:
		(void)kube_cache_delete_node(cache, k->name);
		break;
	case _KUBE_KIND_MAX:
		break;
	}
}

/* A file of the last pass that this pass decoded again, or that is gone. */
static bool kube_source_redone(struct kube_source_file *next, size_t n,
			       const struct kube_source_file *old)
{
	const struct kube_source_file *f = kube_source_find(next, n, old->path);

	return !f || f->decoded;
}

/*
 * Applies the pass as a patch, when the last pass's claims are known: counts the keys of the
 * files decoded again (or gone) out of the claims and the new ones in; if that leaves no
 * object given twice, deletes the objects no file gives any more and puts the decoded ones,
 * touching nothing else. A full list's replace walks every object of every file, which for
 * one endpoint in a directory of 100 000 objects costs a hundred times the change. 1 when
 * applied; 0 when an object is given twice, so that the full apply must follow (it counts
 * the claims anew); -ENOMEM (the claims are then no longer valid).
 */
static int kube_source_patch(struct kube_cache *cache, struct kube_source_state *last,
			     struct kube_source_file *next, size_t n)
{
	struct kube_source_claims *claims = &last->claims;
	int r = 0;

	for (size_t i = 0; i < last->n_files; i++) {
		const struct kube_source_file *old = &last->files[i];

		if (kube_source_redone(next, n, old))
			for (size_t k = 0; k < old->n_keys; k++)
				(void)kube_source_claims_drop(claims, old->keys[k].kind,
							      old->keys[k].ns, old->keys[k].name);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; next[i].decoded && k < next[i].n_keys; k++)
			if (!kube_source_claims_add(claims, next[i].keys[k].kind, next[i].keys[k].ns,
						    next[i].keys[k].name))
				return -ENOMEM;
	if (claims->n_multi > 0)
		return 0;
	/* Each object had one giver: an old key no claim holds now is gone from every file. */
	for (size_t i = 0; i < last->n_files; i++) {
		const struct kube_source_file *old = &last->files[i];

		if (kube_source_redone(next, n, old))
			for (size_t k = 0; k < old->n_keys; k++)
				if (kube_source_claims_count(claims, old->keys[k].kind,
							     old->keys[k].ns, old->keys[k].name) == 0)
					kube_source_delete(cache, &old->keys[k]);
	}
	for (size_t i = 0; i < n && r == 0; i++)
		r = kube_source_put_objects(cache, &next[i]);
	return r < 0 ? r : 1;
}

/* Forgets what the last pass left: the next pass reads and applies everything. */
static void kube_source_state_clear(struct kube_source_state *last)
{
	kube_source_files_free(last->files, last->n_files);
	last->files = NULL;
	last->n_files = 0;
	kube_source_claims_clear(&last->claims);
	last->claims_valid = false;
}

/*
 * Applies the files read as one full list: the contested files are decoded, the objects
 * given twice reported, and the cache replaced (kube_source_apply). Recounts the claims.
 * Returns as kube_source_apply().
 */
static int kube_source_replace(struct kube_source_pass *pass, struct kube_cache *cache,
			       struct kube_source_state *last, struct kube_source_file *next,
			       size_t n, bool *bad)
{
	_cleanup_free_ struct kube_source_twice *twice = NULL;
	size_t n_twice = 0;
	int r;

	r = kube_source_contest(pass, &last->claims, next, n, &twice, &n_twice, bad);
	if (r < 0)
		return r;
	last->claims_valid = true;
	kube_source_report_twice(next, twice, n_twice);
	for (int k = 0; k < _KUBE_KIND_MAX; k++)
		kube_cache_replace_begin(cache, (enum kube_kind)k);
	r = kube_source_apply(cache, next, n);
	if (r < 0) {
		/* Out of memory while applying: delete nothing rather than what was not reached. */
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < next[i].n_keys; k++)
				(void)kube_cache_mark_seen(cache, next[i].keys[k].kind,
							   next[i].keys[k].ns,
							   next[i].keys[k].name);
	}
	for (int k = 0; k < _KUBE_KIND_MAX; k++)
		kube_cache_replace_end(cache, (enum kube_kind)k);
	return r;
}

/*
 * One pass over the files. last holds what the last pass left (nothing before the first) and
 * is replaced by this pass's. Every file is read (and decoded when it changed) before the
 * cache is touched; then the change is applied as a patch (kube_source_patch) or, when an
 * object is given twice or the claims are not known, as one full list. With only_touched, a
 * file whose name is not in touched is kept as the last pass left it, unread. Returns as
 * kube_source_load().
 */
static int kube_source_pass_run(struct kube_cache *cache, const char *path, const char *proxy_name,
				struct kube_source_state *last,
				const struct kube_source_name *touched, bool only_touched)
{
	struct kube_source_pass pass = {.proxy_name = proxy_name};
	struct kube_source_file *next = NULL;
	char qpath[PATH_MAX + 8];
	size_t n = 0;
	bool bad = false;
	int r = 0;

	r = kube_source_list(path, &next, &n);
	if (r < 0) {
		log_warn("kube", "cannot read manifests, keeping what was loaded",
			 "path=%s err=\"%s\"", log_quote(qpath, sizeof(qpath), path), strerror(-r));
		return r;
	}
	for (size_t i = 0; i < n && r != -ENOMEM; i++) {
		r = kube_source_file_load(&pass, &next[i],
					  kube_source_find(last->files, last->n_files, next[i].path),
					  false, kube_source_untouched(touched, only_touched, &next[i]));
		bad |= r == -EBADMSG;
	}
	if (r != -ENOMEM) {
		r = last->claims_valid ? kube_source_patch(cache, last, next, n) : 0;
		if (r == 0)
			r = kube_source_replace(&pass, cache, last, next, n, &bad);
	}
	kube_source_files_free(last->files, last->n_files);
	last->files = next;
	last->n_files = n;
	if (r == -ENOMEM) {
		/* Out of memory half-way: the next pass reads and applies everything. */
		for (size_t i = 0; i < n; i++)
			next[i].read = false;
		kube_source_claims_clear(&last->claims);
		last->claims_valid = false;
		return r;
	}
	return bad ? -EBADMSG : kube_source_count(next, n);
}

int kube_source_load(struct kube_cache *cache, const char *path, const char *proxy_name)
{
	struct kube_source_state last = {0};
	int r;

	r = kube_source_pass_run(cache, path, proxy_name, &last, NULL, false);
	kube_source_state_clear(&last);
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

/* One pass; with only_touched, of the files inotify named since the last one. */
static int kube_source_pass(struct kube_source *src, bool only_touched)
{
	double t = sync_phase_now_ms();
	int r;

	r = kube_source_pass_run(src->cache, src->path, src->proxy_name, &src->last, src->touched,
				 only_touched);
	kube_source_touched_clear(src);
	kube_cache_decode_add(src->cache, sync_phase_now_ms() - t);
	if (src->fn)
		src->fn(src, src->userdata);
	return r;
}

int kube_source_reload(struct kube_source *src)
{
	return kube_source_pass(src, false);
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

	int r = kube_source_pass(src, !src->touched_all);

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
	src->touched_all = true; /* what changed while unwatched is unknown */
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
			if (ev->mask & IN_Q_OVERFLOW)
				src->touched_all = true; /* events were lost */
			else if (ev->len > 0 && ev->name[0])
				kube_source_touch(src, ev->name);
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
	kube_source_state_clear(&src->last);
	kube_source_touched_clear(src);
	free(src->path);
	free(src->proxy_name);
	free(src);
	return NULL;
}
