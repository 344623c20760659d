/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads whole files (kube_file.h). One loop for every reader in lib/, sized from fstat so a
 * large manifest is read without repeated doubling, and bounded so a stray huge file cannot
 * eat the daemon's memory.
 */
#include "kube_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

int kube_file_read(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	/* st_size is a hint (0 for /proc and pipes); one more byte shows the end at once. */
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 8192;
	if (max && cap > max + 1)
		cap = max + 1;
	buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *grown;

			if (max && len > max)
				return -EFBIG;
			grown = realloc(buf, 2 * cap + 1);
			if (!grown)
				return -ENOMEM;
			buf = grown;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (max && len > max)
		return -EFBIG;
	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}
