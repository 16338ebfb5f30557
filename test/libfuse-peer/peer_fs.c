/*
 * peer_fs: a small, deterministic in-memory filesystem on libfuse's low-level API, for
 * fuse-uapi's tests (test/libfuse-peer.test.ts). Written for this project.
 *
 * No mount: libfuse reads requests from one end of a SOCK_SEQPACKET socketpair handed to
 * fuse_session_custom_io(), and this program relays the other end to its stdin and stdout,
 * so the test plays the kernel: it writes FUSE requests (INIT first) to stdin and reads
 * what libfuse writes. Framing on both pipes is the FUSE messages' own length field:
 *   stdin:  requests back to back, each `fuse_in_header.len` bytes;
 *   stdout: every message libfuse sends (replies, notifications) verbatim, back to back.
 * End of stdin ends the session (libfuse sees ENODEV, as at unmount).
 *
 * It builds against two libfuse snapshots (see test/libfuse-peer/build.ts):
 *   3.18 (compound RFC v1-v3): no .compound handler; libfuse splits compounds itself;
 *   3.19 (compound v7): a .compound handler that threads nodeids by `dep_index` the way the
 *     v7 kernel's fallback does (fs/fuse/compound.c): a forward or self reference fails with
 *     -EINVAL, a failed producer fails its dependents with its error, otherwise the
 *     dependent's nodeid becomes the producer's fuse_entry_out.nodeid. Compounds without
 *     dependencies go to libfuse's own fuse_execute_compound_sequential().
 *
 * Every answer is a function of the requests alone (fixed times, counters for inode numbers
 * and file handles), so the same requests sent alone and inside a compound give equal
 * replies. `--cuse` serves a CUSE device instead (for CUSE_INIT).
 * PEER_FS_DEBUG=1 in the environment turns on libfuse's debug log (stderr).
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 317

#include <fuse_lowlevel.h>
#include <cuse_lowlevel.h>
#include <fuse_kernel.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#if FUSE_MAJOR_VERSION != 3 || FUSE_MINOR_VERSION < 18
#error "peer_fs needs libfuse 3.18 or later"
#endif
/* 3.19 (PR #1418) has statx, syncfs and the v7 compound handler signature. */
#define PEER_LIBFUSE_319 (FUSE_MINOR_VERSION >= 19)

enum {
	MAX_NODES = 64,
	MAX_DENTS = 128,
	MAX_DATA = 16384,
	MAX_XATTRS = 8,
	MAX_NAME = 255,
	MAX_MSG = 1 << 21,
};

/* ioctl commands the test sends (restricted ioctls: sizes come with the request). */
#define PEER_IOC_REVERSE 0x7001u /* out = in, reversed; result = in size */
#define PEER_IOC_NOTIFY 0x7002u  /* send every notification libfuse has; out = their results */

static const time_t T_START = 1700000000; /* times of the initial tree */
static const time_t T_NOW = 1700001000;   /* "now" for every change */
static void *const RETRIEVE_COOKIE = (void *)(uintptr_t)0x5eed;

struct xattr {
	bool used;
	char name[64];
	char value[128];
	size_t size;
};

struct node {
	bool used;
	mode_t mode;
	nlink_t nlink;
	uid_t uid;
	gid_t gid;
	dev_t rdev;
	size_t size;
	unsigned char data[MAX_DATA];
	char target[256];
	struct timespec atime, mtime, ctime;
	struct xattr x[MAX_XATTRS];
	uint64_t nlookup;
};

struct dent {
	bool used;
	fuse_ino_t parent;
	char name[MAX_NAME + 1];
	fuse_ino_t ino;
};

static struct node nodes[MAX_NODES]; /* index = inode number; 1 is the root */
static struct dent dents[MAX_DENTS];
static fuse_ino_t next_ino = 1;
static uint64_t next_fh = 100;
static struct {
	bool held;
	fuse_ino_t ino;
	uint64_t owner;
	struct flock lk;
} lock_rec;
static struct fuse_pollhandle *poll_handle;
static struct fuse_session *session;

/* ---- the tree ---- */

static struct node *get(fuse_ino_t ino)
{
	return ino > 0 && ino < MAX_NODES && nodes[ino].used ? &nodes[ino] : NULL;
}

static struct timespec at(time_t t)
{
	struct timespec ts = {.tv_sec = t, .tv_nsec = 0};
	return ts;
}

static fuse_ino_t new_node(mode_t mode, uid_t uid, gid_t gid, time_t t)
{
	if (next_ino >= MAX_NODES)
		return 0;
	fuse_ino_t ino = next_ino++;
	struct node *n = &nodes[ino];
	memset(n, 0, sizeof(*n));
	n->used = true;
	n->mode = mode;
	n->nlink = S_ISDIR(mode) ? 2 : 1;
	n->uid = uid;
	n->gid = gid;
	n->atime = n->mtime = n->ctime = at(t);
	return ino;
}

static struct dent *find(fuse_ino_t parent, const char *name)
{
	for (int i = 0; i < MAX_DENTS; i++)
		if (dents[i].used && dents[i].parent == parent && strcmp(dents[i].name, name) == 0)
			return &dents[i];
	return NULL;
}

static struct dent *add_dent(fuse_ino_t parent, const char *name, fuse_ino_t ino)
{
	for (int i = 0; i < MAX_DENTS; i++) {
		if (!dents[i].used) {
			dents[i].used = true;
			dents[i].parent = parent;
			snprintf(dents[i].name, sizeof(dents[i].name), "%s", name);
			dents[i].ino = ino;
			return &dents[i];
		}
	}
	return NULL;
}

static void set_data(struct node *n, const char *s)
{
	n->size = strlen(s);
	memcpy(n->data, s, n->size);
}

static void set_xattr_value(struct xattr *x, const char *name, const char *value, size_t size)
{
	x->used = true;
	snprintf(x->name, sizeof(x->name), "%s", name);
	memcpy(x->value, value, size);
	x->size = size;
}

/* /hello.txt (2), /dir (3), /dir/inner (4), /link -> hello.txt (5). */
static void init_tree(void)
{
	fuse_ino_t root = new_node(S_IFDIR | 0755, 0, 0, T_START);
	fuse_ino_t hello = new_node(S_IFREG | 0644, 0, 0, T_START);
	fuse_ino_t dir = new_node(S_IFDIR | 0755, 0, 0, T_START);
	fuse_ino_t inner = new_node(S_IFREG | 0644, 0, 0, T_START);
	fuse_ino_t link = new_node(S_IFLNK | 0777, 0, 0, T_START);
	set_data(&nodes[hello], "hello, world\n");
	set_xattr_value(&nodes[hello].x[0], "user.color", "blue", 4);
	set_data(&nodes[inner], "inner\n");
	snprintf(nodes[link].target, sizeof(nodes[link].target), "hello.txt");
	nodes[link].size = strlen(nodes[link].target);
	add_dent(root, "hello.txt", hello);
	add_dent(root, "dir", dir);
	add_dent(dir, "inner", inner);
	add_dent(root, "link", link);
	nodes[root].nlink = 3;
}

static void fill_stat(fuse_ino_t ino, struct stat *st)
{
	const struct node *n = &nodes[ino];
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = n->mode;
	st->st_nlink = n->nlink;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_rdev = n->rdev;
	st->st_size = (off_t)n->size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((n->size + 511) / 512);
	st->st_atim = n->atime;
	st->st_mtim = n->mtime;
	st->st_ctim = n->ctime;
}

static void fill_entry(fuse_ino_t ino, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->generation = 1;
	fill_stat(ino, &e->attr);
	e->attr_timeout = 1.0;
	e->entry_timeout = 2.0;
}

static void reply_entry(fuse_req_t req, fuse_ino_t ino)
{
	struct fuse_entry_param e;
	fill_entry(ino, &e);
	nodes[ino].nlookup++;
	fuse_reply_entry(req, &e);
}

static void changed(struct node *n, bool content)
{
	n->ctime = at(T_NOW);
	if (content)
		n->mtime = at(T_NOW);
}

/* Creates a node (and its entry when `name` is given): 0 or an errno. */
static int make(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev,
		const char *target, fuse_ino_t *out)
{
	struct node *p = get(parent);
	if (!p)
		return ENOENT;
	if (!S_ISDIR(p->mode))
		return ENOTDIR;
	if (name) {
		if (strlen(name) > MAX_NAME)
			return ENAMETOOLONG;
		if (find(parent, name))
			return EEXIST;
	}
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	fuse_ino_t ino = new_node(mode, ctx->uid, ctx->gid, T_NOW);
	if (!ino)
		return ENOSPC;
	struct node *n = &nodes[ino];
	n->rdev = rdev;
	if (target) {
		snprintf(n->target, sizeof(n->target), "%s", target);
		n->size = strlen(n->target);
	}
	if (name) {
		if (!add_dent(parent, name, ino)) {
			n->used = false;
			return ENOSPC;
		}
		if (S_ISDIR(mode))
			p->nlink++;
		changed(p, true);
	}
	*out = ino;
	return 0;
}

/* ---- operations ---- */

static void pfs_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	(void)conn;
}

static void pfs_destroy(void *userdata)
{
	(void)userdata;
}

static void pfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (!get(parent))
		return (void)fuse_reply_err(req, ENOENT);
	if (strlen(name) > MAX_NAME)
		return (void)fuse_reply_err(req, ENAMETOOLONG);
	struct dent *d = find(parent, name);
	if (!d)
		return (void)fuse_reply_err(req, ENOENT);
	reply_entry(req, d->ino);
}

static void pfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct node *n = get(ino);
	if (n)
		n->nlookup = n->nlookup > nlookup ? n->nlookup - nlookup : 0;
	fuse_reply_none(req);
}

static void pfs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++) {
		struct node *n = get(forgets[i].ino);
		if (n)
			n->nlookup = n->nlookup > forgets[i].nlookup ? n->nlookup - forgets[i].nlookup : 0;
	}
	fuse_reply_none(req);
}

static void pfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	/* A request libfuse marked interrupted (FUSE_INTERRUPT came first) ends with EINTR. */
	if (fuse_req_interrupted(req))
		return (void)fuse_reply_err(req, EINTR);
	if (!get(ino))
		return (void)fuse_reply_err(req, ENOENT);
	struct stat st;
	fill_stat(ino, &st);
	fuse_reply_attr(req, &st, 1.0);
}

static void pfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			struct fuse_file_info *fi)
{
	(void)fi;
	struct node *n = get(ino);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (S_ISDIR(n->mode))
			return (void)fuse_reply_err(req, EISDIR);
		if (attr->st_size < 0 || attr->st_size > MAX_DATA)
			return (void)fuse_reply_err(req, EFBIG);
		if ((size_t)attr->st_size > n->size)
			memset(n->data + n->size, 0, (size_t)attr->st_size - n->size);
		n->size = (size_t)attr->st_size;
		changed(n, true);
	}
	if (to_set & FUSE_SET_ATTR_MODE)
		n->mode = (n->mode & S_IFMT) | (attr->st_mode & 07777);
	if (to_set & FUSE_SET_ATTR_UID)
		n->uid = attr->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		n->gid = attr->st_gid;
	if (to_set & FUSE_SET_ATTR_ATIME)
		n->atime = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		n->atime = at(T_NOW);
	if (to_set & FUSE_SET_ATTR_MTIME)
		n->mtime = attr->st_mtim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		n->mtime = at(T_NOW);
	n->ctime = (to_set & FUSE_SET_ATTR_CTIME) ? attr->st_ctim : at(T_NOW);
	struct stat st;
	fill_stat(ino, &st);
	fuse_reply_attr(req, &st, 1.0);
}

static void pfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct node *n = get(ino);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	if (!S_ISLNK(n->mode))
		return (void)fuse_reply_err(req, EINVAL);
	fuse_reply_readlink(req, n->target);
}

static void pfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	fuse_ino_t ino;
	int err = make(req, parent, name, mode, rdev, NULL, &ino);
	if (err)
		return (void)fuse_reply_err(req, err);
	reply_entry(req, ino);
}

static void pfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	fuse_ino_t ino;
	int err = make(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL, &ino);
	if (err)
		return (void)fuse_reply_err(req, err);
	reply_entry(req, ino);
}

static void pfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	fuse_ino_t ino;
	if (strlen(link) >= sizeof(nodes[0].target))
		return (void)fuse_reply_err(req, ENAMETOOLONG);
	int err = make(req, parent, name, S_IFLNK | 0777, 0, link, &ino);
	if (err)
		return (void)fuse_reply_err(req, err);
	reply_entry(req, ino);
}

static bool dir_empty(fuse_ino_t ino)
{
	for (int i = 0; i < MAX_DENTS; i++)
		if (dents[i].used && dents[i].parent == ino)
			return false;
	return true;
}

static void drop_link(struct dent *d)
{
	struct node *n = &nodes[d->ino];
	struct node *p = &nodes[d->parent];
	if (S_ISDIR(n->mode)) {
		n->nlink = 0;
		p->nlink--;
	} else {
		n->nlink--;
	}
	changed(n, false);
	changed(p, true);
	d->used = false;
}

static void pfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct dent *d = get(parent) ? find(parent, name) : NULL;
	if (!d)
		return (void)fuse_reply_err(req, ENOENT);
	if (S_ISDIR(nodes[d->ino].mode))
		return (void)fuse_reply_err(req, EISDIR);
	drop_link(d);
	fuse_reply_err(req, 0);
}

static void pfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct dent *d = get(parent) ? find(parent, name) : NULL;
	if (!d)
		return (void)fuse_reply_err(req, ENOENT);
	if (!S_ISDIR(nodes[d->ino].mode))
		return (void)fuse_reply_err(req, ENOTDIR);
	if (!dir_empty(d->ino))
		return (void)fuse_reply_err(req, ENOTEMPTY);
	drop_link(d);
	fuse_reply_err(req, 0);
}

static void pfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		       const char *newname, unsigned int flags)
{
	struct node *np = get(newparent);
	struct dent *d = get(parent) ? find(parent, name) : NULL;
	if (!d || !np)
		return (void)fuse_reply_err(req, ENOENT);
	if (!S_ISDIR(np->mode))
		return (void)fuse_reply_err(req, ENOTDIR);
	if (strlen(newname) > MAX_NAME)
		return (void)fuse_reply_err(req, ENAMETOOLONG);
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return (void)fuse_reply_err(req, EINVAL);
	struct dent *t = find(newparent, newname);
	if (t == d)
		return (void)fuse_reply_err(req, 0);
	if (flags & RENAME_EXCHANGE) {
		if (!t)
			return (void)fuse_reply_err(req, ENOENT);
		fuse_ino_t tmp = t->ino;
		t->ino = d->ino;
		d->ino = tmp;
		changed(&nodes[d->ino], false);
		changed(&nodes[t->ino], false);
		return (void)fuse_reply_err(req, 0);
	}
	bool isdir = S_ISDIR(nodes[d->ino].mode);
	if (t) {
		if (flags & RENAME_NOREPLACE)
			return (void)fuse_reply_err(req, EEXIST);
		bool tdir = S_ISDIR(nodes[t->ino].mode);
		if (tdir && !isdir)
			return (void)fuse_reply_err(req, EISDIR);
		if (!tdir && isdir)
			return (void)fuse_reply_err(req, ENOTDIR);
		if (tdir && !dir_empty(t->ino))
			return (void)fuse_reply_err(req, ENOTEMPTY);
		drop_link(t);
	}
	if (isdir && parent != newparent) {
		nodes[parent].nlink--;
		np->nlink++;
	}
	changed(&nodes[parent], true);
	changed(np, true);
	changed(&nodes[d->ino], false);
	d->parent = newparent;
	snprintf(d->name, sizeof(d->name), "%s", newname);
	fuse_reply_err(req, 0);
}

static void pfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct node *n = get(ino);
	struct node *p = get(newparent);
	if (!n || !p)
		return (void)fuse_reply_err(req, ENOENT);
	if (S_ISDIR(n->mode))
		return (void)fuse_reply_err(req, EPERM);
	if (!S_ISDIR(p->mode))
		return (void)fuse_reply_err(req, ENOTDIR);
	if (find(newparent, newname))
		return (void)fuse_reply_err(req, EEXIST);
	if (!add_dent(newparent, newname, ino))
		return (void)fuse_reply_err(req, ENOSPC);
	n->nlink++;
	changed(n, false);
	changed(p, true);
	reply_entry(req, ino);
}

static void pfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = get(ino);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	if (S_ISDIR(n->mode))
		return (void)fuse_reply_err(req, EISDIR);
	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY) {
		n->size = 0;
		changed(n, true);
	}
	fi->fh = next_fh++;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void pfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)fi;
	struct node *n = get(ino);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	if (S_ISDIR(n->mode))
		return (void)fuse_reply_err(req, EISDIR);
	if (off < 0 || (size_t)off >= n->size)
		return (void)fuse_reply_buf(req, NULL, 0);
	size_t len = n->size - (size_t)off;
	fuse_reply_buf(req, (const char *)n->data + off, len < size ? len : size);
}

static void pfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	(void)fi;
	struct node *n = get(ino);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	if (off < 0 || (size_t)off + size > MAX_DATA)
		return (void)fuse_reply_err(req, EFBIG);
	if ((size_t)off > n->size)
		memset(n->data + n->size, 0, (size_t)off - n->size);
	memcpy(n->data + off, buf, size);
	if ((size_t)off + size > n->size)
		n->size = (size_t)off + size;
	changed(n, true);
	fuse_reply_write(req, size);
}

static void pfs_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	fuse_reply_err(req, get(ino) ? 0 : ENOENT);
}

static void pfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	pfs_ok(req, ino, fi);
}

static void pfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = get(ino);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	if (!S_ISDIR(n->mode))
		return (void)fuse_reply_err(req, ENOTDIR);
	fi->fh = next_fh++;
	fuse_reply_open(req, fi);
}

/* Entry k of directory `ino` (".", "..", then its entries in table order): false past the end. */
static bool dir_entry(fuse_ino_t ino, off_t k, const char **name, fuse_ino_t *child)
{
	if (k == 0) {
		*name = ".";
		*child = ino;
		return true;
	}
	if (k == 1) {
		*name = "..";
		*child = 1;
		for (int i = 0; i < MAX_DENTS; i++)
			if (dents[i].used && dents[i].ino == ino && S_ISDIR(nodes[ino].mode))
				*child = dents[i].parent;
		return true;
	}
	off_t seen = 2;
	for (int i = 0; i < MAX_DENTS; i++) {
		if (dents[i].used && dents[i].parent == ino) {
			if (seen == k) {
				*name = dents[i].name;
				*child = dents[i].ino;
				return true;
			}
			seen++;
		}
	}
	return false;
}

static void list_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct node *n = get(ino);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	if (!S_ISDIR(n->mode))
		return (void)fuse_reply_err(req, ENOTDIR);
	if (size > MAX_DATA)
		size = MAX_DATA;
	char buf[MAX_DATA];
	size_t used = 0;
	const char *name;
	fuse_ino_t child;
	for (off_t k = off; dir_entry(ino, k, &name, &child); k++) {
		size_t len;
		if (plus) {
			struct fuse_entry_param e;
			bool dots = k < 2;
			fill_entry(child, &e);
			if (dots) /* no lookup for "." and "..": nodeid 0, as the kernel expects */
				e.ino = 0, e.attr.st_ino = child;
			len = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, k + 1);
			if (len <= size - used && !dots)
				nodes[child].nlookup++;
		} else {
			struct stat st;
			memset(&st, 0, sizeof(st));
			st.st_ino = child;
			st.st_mode = nodes[child].mode;
			len = fuse_add_direntry(req, buf + used, size - used, name, &st, k + 1);
		}
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
}

static void pfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	(void)fi;
	list_dir(req, ino, size, off, false);
}

static void pfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			    struct fuse_file_info *fi)
{
	(void)fi;
	list_dir(req, ino, size, off, true);
}

static void pfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	pfs_ok(req, ino, fi);
}

static void pfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	struct statvfs s;
	memset(&s, 0, sizeof(s));
	s.f_bsize = 4096;
	s.f_frsize = 4096;
	s.f_blocks = 1024;
	s.f_bfree = 1000;
	s.f_bavail = 900;
	s.f_files = MAX_NODES;
	s.f_ffree = MAX_NODES - next_ino;
	s.f_favail = s.f_ffree;
	s.f_namemax = MAX_NAME;
	fuse_reply_statfs(req, &s);
}

static struct xattr *find_xattr(struct node *n, const char *name)
{
	for (int i = 0; i < MAX_XATTRS; i++)
		if (n->x[i].used && strcmp(n->x[i].name, name) == 0)
			return &n->x[i];
	return NULL;
}

static void pfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			 size_t size, int flags)
{
	struct node *n = get(ino);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	if (strlen(name) >= sizeof(n->x[0].name) || size > sizeof(n->x[0].value))
		return (void)fuse_reply_err(req, ERANGE);
	struct xattr *x = find_xattr(n, name);
	if (x && (flags & XATTR_CREATE))
		return (void)fuse_reply_err(req, EEXIST);
	if (!x && (flags & XATTR_REPLACE))
		return (void)fuse_reply_err(req, ENODATA);
	for (int i = 0; !x && i < MAX_XATTRS; i++)
		if (!n->x[i].used)
			x = &n->x[i];
	if (!x)
		return (void)fuse_reply_err(req, ENOSPC);
	set_xattr_value(x, name, value, size);
	changed(n, false);
	fuse_reply_err(req, 0);
}

static void pfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct node *n = get(ino);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	struct xattr *x = find_xattr(n, name);
	if (!x)
		return (void)fuse_reply_err(req, ENODATA);
	if (size == 0)
		return (void)fuse_reply_xattr(req, x->size);
	if (size < x->size)
		return (void)fuse_reply_err(req, ERANGE);
	fuse_reply_buf(req, x->value, x->size);
}

static void pfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct node *n = get(ino);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	char buf[MAX_XATTRS * 64];
	size_t used = 0;
	for (int i = 0; i < MAX_XATTRS; i++) {
		if (n->x[i].used) {
			size_t len = strlen(n->x[i].name) + 1;
			memcpy(buf + used, n->x[i].name, len);
			used += len;
		}
	}
	if (size == 0)
		return (void)fuse_reply_xattr(req, used);
	if (size < used)
		return (void)fuse_reply_err(req, ERANGE);
	fuse_reply_buf(req, buf, used);
}

static void pfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct node *n = get(ino);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	struct xattr *x = find_xattr(n, name);
	if (!x)
		return (void)fuse_reply_err(req, ENODATA);
	x->used = false;
	changed(n, false);
	fuse_reply_err(req, 0);
}

static void pfs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct node *n = get(ino);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	if ((mask & W_OK) && !(n->mode & 0222))
		return (void)fuse_reply_err(req, EACCES);
	fuse_reply_err(req, 0);
}

static void pfs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		       struct fuse_file_info *fi)
{
	fuse_ino_t ino;
	int err = make(req, parent, name, S_IFREG | (mode & 07777), 0, NULL, &ino);
	if (err)
		return (void)fuse_reply_err(req, err);
	struct fuse_entry_param e;
	fill_entry(ino, &e);
	nodes[ino].nlookup++;
	fi->fh = next_fh++;
	fuse_reply_create(req, &e, fi);
}

static void pfs_tmpfile(fuse_req_t req, fuse_ino_t parent, mode_t mode, struct fuse_file_info *fi)
{
	fuse_ino_t ino;
	int err = make(req, parent, NULL, S_IFREG | (mode & 07777), 0, NULL, &ino);
	if (err)
		return (void)fuse_reply_err(req, err);
	struct fuse_entry_param e;
	fill_entry(ino, &e);
	nodes[ino].nlookup++;
	fi->fh = next_fh++;
	fuse_reply_create(req, &e, fi);
}

static bool overlaps(const struct flock *a, const struct flock *b)
{
	/* l_len 0 means "to the end"; libfuse hands ranges as start + len. */
	off_t ae = a->l_len ? a->l_start + a->l_len : INT64_MAX;
	off_t be = b->l_len ? b->l_start + b->l_len : INT64_MAX;
	return a->l_start < be && b->l_start < ae;
}

static void pfs_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock)
{
	if (!get(ino))
		return (void)fuse_reply_err(req, ENOENT);
	if (lock_rec.held && lock_rec.ino == ino && lock_rec.owner != fi->lock_owner &&
	    overlaps(&lock_rec.lk, lock) && (lock_rec.lk.l_type == F_WRLCK || lock->l_type == F_WRLCK)) {
		*lock = lock_rec.lk;
	} else {
		lock->l_type = F_UNLCK;
	}
	fuse_reply_lock(req, lock);
}

static void pfs_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock,
		      int sleep)
{
	(void)sleep;
	if (!get(ino))
		return (void)fuse_reply_err(req, ENOENT);
	if (lock->l_type == F_UNLCK) {
		if (lock_rec.held && lock_rec.ino == ino && lock_rec.owner == fi->lock_owner)
			lock_rec.held = false;
	} else {
		if (lock_rec.held && lock_rec.ino == ino && lock_rec.owner != fi->lock_owner &&
		    overlaps(&lock_rec.lk, lock))
			return (void)fuse_reply_err(req, EAGAIN);
		lock_rec.held = true;
		lock_rec.ino = ino;
		lock_rec.owner = fi->lock_owner;
		lock_rec.lk = *lock;
	}
	fuse_reply_err(req, 0);
}

static void pfs_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
	(void)op;
	pfs_ok(req, ino, fi);
}

static void pfs_bmap(fuse_req_t req, fuse_ino_t ino, size_t blocksize, uint64_t idx)
{
	if (!get(ino))
		return (void)fuse_reply_err(req, ENOENT);
	fuse_reply_bmap(req, 1000 + idx * (blocksize / 512));
}

/* PEER_IOC_NOTIFY: every notification this libfuse can send, about the initial tree. */
static size_t send_notifications(int *results, size_t max)
{
	size_t k = 0;
#define NOTE(call)                 \
	do {                       \
		if (k < max)       \
			results[k] = (call); \
		k++;               \
	} while (0)
	struct fuse_bufvec store = FUSE_BUFVEC_INIT(5);
	store.buf[0].mem = (void *)"STORE";
	NOTE(fuse_lowlevel_notify_inval_inode(session, 2, 0, 0));
	NOTE(fuse_lowlevel_notify_inval_entry(session, 1, "hello.txt", strlen("hello.txt")));
	NOTE(fuse_lowlevel_notify_expire_entry(session, 1, "link", strlen("link")));
	NOTE(fuse_lowlevel_notify_delete(session, 3, 4, "inner", strlen("inner")));
	NOTE(fuse_lowlevel_notify_store(session, 4, 0, &store, 0));
	NOTE(fuse_lowlevel_notify_retrieve(session, 2, 5, 7, RETRIEVE_COOKIE));
	NOTE(poll_handle ? fuse_lowlevel_notify_poll(poll_handle) : -ENOENT);
#if PEER_LIBFUSE_319
	NOTE(fuse_lowlevel_notify_increment_epoch(session));
	fuse_ino_t prune[2] = {4, 5};
	NOTE(fuse_lowlevel_notify_prune(session, prune, 2));
#endif
#undef NOTE
	return k;
}

static void pfs_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		      struct fuse_file_info *fi, unsigned flags, const void *in_buf, size_t in_bufsz,
		      size_t out_bufsz)
{
	(void)arg;
	(void)fi;
	(void)flags;
	if (!get(ino))
		return (void)fuse_reply_err(req, ENOENT);
	if (cmd == PEER_IOC_REVERSE) {
		char out[256];
		if (in_bufsz > sizeof(out) || out_bufsz < in_bufsz)
			return (void)fuse_reply_err(req, EINVAL);
		for (size_t i = 0; i < in_bufsz; i++)
			out[i] = ((const char *)in_buf)[in_bufsz - 1 - i];
		return (void)fuse_reply_ioctl(req, (int)in_bufsz, out, in_bufsz);
	}
	if (cmd == PEER_IOC_NOTIFY) {
		int results[16];
		size_t n = send_notifications(results, 16);
		if (out_bufsz < n * sizeof(int))
			return (void)fuse_reply_err(req, EINVAL);
		return (void)fuse_reply_ioctl(req, (int)n, results, n * sizeof(int));
	}
	fuse_reply_err(req, ENOTTY);
}

static void pfs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		     struct fuse_pollhandle *ph)
{
	(void)fi;
	if (!get(ino)) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		return (void)fuse_reply_err(req, ENOENT);
	}
	if (ph) {
		if (poll_handle)
			fuse_pollhandle_destroy(poll_handle);
		poll_handle = ph;
	}
	fuse_reply_poll(req, POLLIN | POLLOUT);
}

static void pfs_retrieve_reply(fuse_req_t req, void *cookie, fuse_ino_t ino, off_t offset,
			       struct fuse_bufvec *bufv)
{
	/* Stores what the "kernel" sent back at its offset, so a READ shows it arrived. */
	struct node *n = get(ino);
	size_t len = fuse_buf_size(bufv);
	if (n && cookie == RETRIEVE_COOKIE && offset >= 0 && (size_t)offset + len <= MAX_DATA) {
		struct fuse_bufvec dst = FUSE_BUFVEC_INIT(len);
		dst.buf[0].mem = n->data + offset;
		fuse_buf_copy(&dst, bufv, 0);
		if ((size_t)offset + len > n->size)
			n->size = (size_t)offset + len;
		changed(n, true);
	}
	fuse_reply_none(req);
}

static void pfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			  struct fuse_file_info *fi)
{
	(void)fi;
	struct node *n = get(ino);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	if (mode != 0)
		return (void)fuse_reply_err(req, EOPNOTSUPP);
	if (offset < 0 || length <= 0 || offset + length > MAX_DATA)
		return (void)fuse_reply_err(req, EFBIG);
	if ((size_t)(offset + length) > n->size) {
		memset(n->data + n->size, 0, (size_t)(offset + length) - n->size);
		n->size = (size_t)(offset + length);
	}
	changed(n, false);
	fuse_reply_err(req, 0);
}

static void pfs_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
				struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
				struct fuse_file_info *fi_out, size_t len, int flags)
{
	(void)fi_in;
	(void)fi_out;
	struct node *src = get(ino_in);
	struct node *dst = get(ino_out);
	if (!src || !dst)
		return (void)fuse_reply_err(req, ENOENT);
	if (flags != 0)
		return (void)fuse_reply_err(req, EINVAL);
	if (off_in < 0 || off_out < 0)
		return (void)fuse_reply_err(req, EINVAL);
	size_t n = (size_t)off_in >= src->size ? 0 : src->size - (size_t)off_in;
	if (n > len)
		n = len;
	if ((size_t)off_out + n > MAX_DATA)
		return (void)fuse_reply_err(req, EFBIG);
	if ((size_t)off_out > dst->size)
		memset(dst->data + dst->size, 0, (size_t)off_out - dst->size);
	memmove(dst->data + off_out, src->data + off_in, n);
	if ((size_t)off_out + n > dst->size)
		dst->size = (size_t)off_out + n;
	changed(dst, true);
	fuse_reply_write(req, n);
}

static void pfs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		      struct fuse_file_info *fi)
{
	(void)fi;
	struct node *n = get(ino);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	off_t size = (off_t)n->size;
	switch (whence) {
	case SEEK_SET:
		return (void)fuse_reply_lseek(req, off);
	case SEEK_END:
		return (void)fuse_reply_lseek(req, size + off);
	case SEEK_DATA:
		return off < size ? (void)fuse_reply_lseek(req, off) : (void)fuse_reply_err(req, ENXIO);
	case SEEK_HOLE:
		return off <= size ? (void)fuse_reply_lseek(req, size) : (void)fuse_reply_err(req, ENXIO);
	default:
		return (void)fuse_reply_err(req, EINVAL);
	}
}

#if PEER_LIBFUSE_319
static void pfs_statx(fuse_req_t req, fuse_ino_t ino, int flags, int mask, struct fuse_file_info *fi)
{
	(void)flags;
	(void)mask;
	(void)fi;
	struct node *n = get(ino);
	if (!n)
		return (void)fuse_reply_err(req, ENOENT);
	struct statx stx;
	memset(&stx, 0, sizeof(stx));
	stx.stx_mask = STATX_BASIC_STATS;
	stx.stx_blksize = 4096;
	stx.stx_nlink = (uint32_t)n->nlink;
	stx.stx_uid = n->uid;
	stx.stx_gid = n->gid;
	stx.stx_mode = (uint16_t)n->mode;
	stx.stx_ino = ino;
	stx.stx_size = n->size;
	stx.stx_blocks = (n->size + 511) / 512;
	stx.stx_atime.tv_sec = n->atime.tv_sec;
	stx.stx_mtime.tv_sec = n->mtime.tv_sec;
	stx.stx_ctime.tv_sec = n->ctime.tv_sec;
	fuse_reply_statx(req, 0, &stx, 1.0);
}

static void pfs_syncfs(fuse_req_t req, fuse_ino_t ino)
{
	fuse_reply_err(req, get(ino) ? 0 : ENOENT);
}

/* ---- v7 compounds: nodeid threading by dep_index ---- */

static bool produces_entry(uint32_t opcode)
{
	switch (opcode) {
	case FUSE_LOOKUP:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_SYMLINK:
	case FUSE_LINK:
	case FUSE_CREATE:
	case FUSE_TMPFILE:
		return true;
	default:
		return false;
	}
}

/* A name at `p` that ends inside `len` bytes, or NULL. */
static const char *name_at(const char *p, size_t len)
{
	return len > 0 && memchr(p, '\0', len) ? p : NULL;
}

/*
 * Runs one sub-request through the handlers above (what libfuse's own dispatch does for a
 * request on its own), with `nodeid` in place of the header's. False: not an op this
 * handler runs (the compound is then declined before anything ran).
 */
static bool dispatch(fuse_req_t req, uint32_t opcode, fuse_ino_t nodeid, const char *p, size_t len,
		     bool dry_run)
{
	struct fuse_file_info fi;
	memset(&fi, 0, sizeof(fi));
#define NEED(type)                                          \
	if (len < sizeof(type))                             \
		return dry_run || (fuse_reply_err(req, EINVAL), true); \
	const type *in = (const type *)p;                   \
	(void)in
#define NAME(ptr, left)                                     \
	if (!name_at((ptr), (left)))                        \
		return dry_run || (fuse_reply_err(req, EINVAL), true)

	switch (opcode) {
	case FUSE_LOOKUP:
	case FUSE_UNLINK:
	case FUSE_RMDIR:
	case FUSE_READLINK:
	case FUSE_STATFS:
	case FUSE_GETATTR:
	case FUSE_SETATTR:
	case FUSE_SYMLINK:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_LINK:
	case FUSE_OPEN:
	case FUSE_OPENDIR:
	case FUSE_READ:
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FLUSH:
	case FUSE_ACCESS:
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_CREATE:
	case FUSE_TMPFILE:
	case FUSE_STATX:
		if (dry_run)
			return true;
		break;
	default:
		return false;
	}

	switch (opcode) {
	case FUSE_LOOKUP: {
		NAME(p, len);
		pfs_lookup(req, nodeid, p);
		break;
	}
	case FUSE_UNLINK:
	case FUSE_RMDIR: {
		NAME(p, len);
		(opcode == FUSE_UNLINK ? pfs_unlink : pfs_rmdir)(req, nodeid, p);
		break;
	}
	case FUSE_READLINK:
		pfs_readlink(req, nodeid);
		break;
	case FUSE_STATFS:
		pfs_statfs(req, nodeid);
		break;
	case FUSE_GETATTR: {
		NEED(struct fuse_getattr_in);
		fi.fh = in->fh;
		pfs_getattr(req, nodeid, (in->getattr_flags & FUSE_GETATTR_FH) ? &fi : NULL);
		break;
	}
	case FUSE_SETATTR: {
		NEED(struct fuse_setattr_in);
		struct stat st;
		memset(&st, 0, sizeof(st));
		st.st_mode = in->mode;
		st.st_uid = in->uid;
		st.st_gid = in->gid;
		st.st_size = (off_t)in->size;
		st.st_atim.tv_sec = (time_t)in->atime;
		st.st_atim.tv_nsec = in->atimensec;
		st.st_mtim.tv_sec = (time_t)in->mtime;
		st.st_mtim.tv_nsec = in->mtimensec;
		st.st_ctim.tv_sec = (time_t)in->ctime;
		st.st_ctim.tv_nsec = in->ctimensec;
		fi.fh = in->fh;
		/* FATTR_* and FUSE_SET_ATTR_* share their bits; keep the ones libfuse passes on. */
		int valid = (int)in->valid & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
					      FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
					      FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID |
					      FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW |
					      FUSE_SET_ATTR_CTIME);
		pfs_setattr(req, nodeid, &st, valid, (in->valid & FATTR_FH) ? &fi : NULL);
		break;
	}
	case FUSE_SYMLINK: {
		NAME(p, len);
		size_t nl = strlen(p) + 1;
		NAME(p + nl, len - nl);
		pfs_symlink(req, p + nl, nodeid, p);
		break;
	}
	case FUSE_MKNOD: {
		NEED(struct fuse_mknod_in);
		NAME(p + sizeof(*in), len - sizeof(*in));
		pfs_mknod(req, nodeid, p + sizeof(*in), in->mode, in->rdev);
		break;
	}
	case FUSE_MKDIR: {
		NEED(struct fuse_mkdir_in);
		NAME(p + sizeof(*in), len - sizeof(*in));
		pfs_mkdir(req, nodeid, p + sizeof(*in), in->mode);
		break;
	}
	case FUSE_LINK: {
		NEED(struct fuse_link_in);
		NAME(p + sizeof(*in), len - sizeof(*in));
		pfs_link(req, in->oldnodeid, nodeid, p + sizeof(*in));
		break;
	}
	case FUSE_OPEN:
	case FUSE_OPENDIR: {
		NEED(struct fuse_open_in);
		fi.flags = (int)in->flags;
		(opcode == FUSE_OPEN ? pfs_open : pfs_opendir)(req, nodeid, &fi);
		break;
	}
	case FUSE_READ: {
		NEED(struct fuse_read_in);
		fi.fh = in->fh;
		fi.flags = (int)in->flags;
		pfs_read(req, nodeid, in->size, (off_t)in->offset, &fi);
		break;
	}
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR: {
		NEED(struct fuse_release_in);
		fi.fh = in->fh;
		fi.flags = (int)in->flags;
		pfs_ok(req, nodeid, &fi);
		break;
	}
	case FUSE_FLUSH: {
		NEED(struct fuse_flush_in);
		fi.fh = in->fh;
		fi.lock_owner = in->lock_owner;
		pfs_ok(req, nodeid, &fi);
		break;
	}
	case FUSE_ACCESS: {
		NEED(struct fuse_access_in);
		pfs_access(req, nodeid, (int)in->mask);
		break;
	}
	case FUSE_GETXATTR: {
		NEED(struct fuse_getxattr_in);
		NAME(p + sizeof(*in), len - sizeof(*in));
		pfs_getxattr(req, nodeid, p + sizeof(*in), in->size);
		break;
	}
	case FUSE_LISTXATTR: {
		NEED(struct fuse_getxattr_in);
		pfs_listxattr(req, nodeid, in->size);
		break;
	}
	case FUSE_CREATE: {
		NEED(struct fuse_create_in);
		NAME(p + sizeof(*in), len - sizeof(*in));
		fi.flags = (int)in->flags;
		pfs_create(req, nodeid, p + sizeof(*in), in->mode, &fi);
		break;
	}
	case FUSE_TMPFILE: {
		NEED(struct fuse_create_in);
		fi.flags = (int)in->flags;
		pfs_tmpfile(req, nodeid, in->mode, &fi);
		break;
	}
	case FUSE_STATX: {
		NEED(struct fuse_statx_in);
		fi.fh = in->fh;
		pfs_statx(req, nodeid, (int)in->sx_flags, (int)in->sx_mask,
			  (in->getattr_flags & FUSE_GETATTR_FH) ? &fi : NULL);
		break;
	}
	}
#undef NEED
#undef NAME
	return true;
}

static void pfs_compound(fuse_req_t req, uint32_t count, const void *arg)
{
	(void)arg; /* libfuse has parsed it: fuse_compound_get_op_info() */
	struct fuse_compound_op_info op;
	bool dependent = false;
	for (uint32_t i = 0; i < count; i++) {
		if (fuse_compound_get_op_info(req, i, &op) != 0)
			return (void)fuse_reply_err(req, EIO);
		if (op.req_hdr->dep_index != FUSE_COMPOUND_NO_DEP)
			dependent = true;
	}
	if (!dependent)
		return fuse_execute_compound_sequential(req);
	/* Declined as a whole before anything ran: the v7 kernel then sends the ops one by one. */
	for (uint32_t i = 0; i < count; i++) {
		fuse_compound_get_op_info(req, i, &op);
		if (!dispatch(req, op.op_hdr->opcode, 0, NULL, 0, true))
			return (void)fuse_reply_err(req, EOPNOTSUPP);
	}
	fuse_compound_start(req);
	for (uint32_t i = 0; i < count; i++) {
		fuse_compound_get_op_info(req, i, &op);
		fuse_ino_t nodeid = op.op_hdr->nodeid;
		uint8_t dep = op.req_hdr->dep_index;
		if (dep != FUSE_COMPOUND_NO_DEP) {
			if (dep >= i) {
				fuse_compound_prepare_result(req, -EINVAL, NULL, 0);
				continue;
			}
			int err = fuse_compound_get_error(req, dep);
			if (err) {
				fuse_compound_prepare_result(req, err, NULL, 0);
				continue;
			}
			struct fuse_compound_op_info producer;
			fuse_compound_get_op_info(req, dep, &producer);
			if (produces_entry(producer.op_hdr->opcode)) {
				struct fuse_entry_out out[2]; /* CREATE: fuse_entry_out + fuse_open_out */
				if (fuse_compound_get_result(req, dep, out, sizeof(out)) >= (int)sizeof(out[0]))
					nodeid = out[0].nodeid;
			}
		}
		dispatch(req, op.op_hdr->opcode, nodeid, op.payload, op.payload_size, false);
	}
	fuse_compound_end(req);
	fuse_reply_compound(req, count, NULL, 0);
}
#endif /* PEER_LIBFUSE_319 */

static const struct fuse_lowlevel_ops ops = {
	.init = pfs_init,
	.destroy = pfs_destroy,
	.lookup = pfs_lookup,
	.forget = pfs_forget,
	.forget_multi = pfs_forget_multi,
	.getattr = pfs_getattr,
	.setattr = pfs_setattr,
	.readlink = pfs_readlink,
	.mknod = pfs_mknod,
	.mkdir = pfs_mkdir,
	.unlink = pfs_unlink,
	.rmdir = pfs_rmdir,
	.symlink = pfs_symlink,
	.rename = pfs_rename,
	.link = pfs_link,
	.open = pfs_open,
	.read = pfs_read,
	.write = pfs_write,
	.flush = pfs_ok,
	.release = pfs_ok,
	.fsync = pfs_fsync,
	.opendir = pfs_opendir,
	.readdir = pfs_readdir,
	.readdirplus = pfs_readdirplus,
	.releasedir = pfs_ok,
	.fsyncdir = pfs_fsyncdir,
	.statfs = pfs_statfs,
	.setxattr = pfs_setxattr,
	.getxattr = pfs_getxattr,
	.listxattr = pfs_listxattr,
	.removexattr = pfs_removexattr,
	.access = pfs_access,
	.create = pfs_create,
	.tmpfile = pfs_tmpfile,
	.getlk = pfs_getlk,
	.setlk = pfs_setlk,
	.flock = pfs_flock,
	.bmap = pfs_bmap,
	.ioctl = pfs_ioctl,
	.poll = pfs_poll,
	.retrieve_reply = pfs_retrieve_reply,
	.fallocate = pfs_fallocate,
	.copy_file_range = pfs_copy_file_range,
	.lseek = pfs_lseek,
#if PEER_LIBFUSE_319
	.statx = pfs_statx,
	.syncfs = pfs_syncfs,
	.compound = pfs_compound,
#endif
};

/* ---- CUSE (for CUSE_INIT) ---- */

static void cuse_open(fuse_req_t req, struct fuse_file_info *fi)
{
	fi->fh = next_fh++;
	fuse_reply_open(req, fi);
}

static void cuse_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	static const char text[] = "cuse peer\n";
	size_t len = sizeof(text) - 1;
	if (off < 0 || (size_t)off >= len)
		return (void)fuse_reply_buf(req, NULL, 0);
	len -= (size_t)off;
	fuse_reply_buf(req, text + off, len < size ? len : size);
}

static const struct cuse_lowlevel_ops cuse_ops = {
	.open = cuse_open,
	.read = cuse_read,
};

/* ---- the socketpair and the relay ---- */

static int kernel_fd = -1; /* our end: the "kernel" side */

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	(void)userdata;
	struct msghdr m;
	memset(&m, 0, sizeof(m));
	m.msg_iov = iov;
	m.msg_iovlen = (size_t)count;
	return sendmsg(fd, &m, MSG_NOSIGNAL);
}

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)userdata;
	ssize_t n = recv(fd, buf, len, 0);
	if (n == 0) {
		/* The test closed stdin: tell libfuse the "device" is gone, as at unmount. */
		errno = ENODEV;
		return -1;
	}
	return n;
}

static void die(const char *what)
{
	fprintf(stderr, "peer_fs: %s: %s\n", what, strerror(errno));
	exit(2);
}

static bool read_full(int fd, unsigned char *buf, size_t len, bool eof_ok)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read stdin");
		if (n == 0) {
			if (got == 0 && eof_ok)
				return false;
			fprintf(stderr, "peer_fs: stdin ends inside a message (%zu of %zu bytes)\n", got, len);
			exit(2);
		}
		got += (size_t)n;
	}
	return true;
}

static void write_full(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("write stdout");
		buf += n;
		len -= (size_t)n;
	}
}

/* stdin -> socket, one request per datagram; end of stdin shuts our sending side. */
static void *feeder(void *unused)
{
	(void)unused;
	static unsigned char msg[MAX_MSG];
	for (;;) {
		if (!read_full(0, msg, sizeof(uint32_t), true))
			break;
		uint32_t len;
		memcpy(&len, msg, sizeof(len));
		if (len < sizeof(struct fuse_in_header) || len > MAX_MSG) {
			fprintf(stderr, "peer_fs: request length %u out of range\n", len);
			exit(2);
		}
		read_full(0, msg + sizeof(len), len - sizeof(len), false);
		if (send(kernel_fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
			break; /* libfuse is gone; the collector reports how it ended */
	}
	shutdown(kernel_fd, SHUT_WR);
	return NULL;
}

/* socket -> stdout, checking that each datagram is one whole message. */
static void *collector(void *unused)
{
	(void)unused;
	static unsigned char msg[MAX_MSG];
	for (;;) {
		ssize_t n = recv(kernel_fd, msg, sizeof(msg), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("recv");
		if (n == 0)
			break;
		struct fuse_out_header h;
		if ((size_t)n < sizeof(h)) {
			fprintf(stderr, "peer_fs: libfuse wrote %zd bytes, less than fuse_out_header\n", n);
			exit(3);
		}
		memcpy(&h, msg, sizeof(h));
		if (h.len != (uint32_t)n) {
			fprintf(stderr, "peer_fs: libfuse wrote %zd bytes with fuse_out_header.len %u\n", n, h.len);
			exit(3);
		}
		write_full(1, msg, (size_t)n);
	}
	return NULL;
}

int main(int argc, char *argv[])
{
	bool cuse = argc > 1 && strcmp(argv[1], "--cuse") == 0;
	if (argc > 2 || (argc == 2 && !cuse)) {
		fprintf(stderr, "usage: peer_fs [--cuse]  (requests on stdin, libfuse's messages on stdout)\n");
		return 2;
	}
	init_tree();

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		die("socketpair");
	kernel_fd = sv[0];

	char *args_v[] = {argv[0], "-d", NULL};
	const char *debug = getenv("PEER_FS_DEBUG");
	struct fuse_args args = FUSE_ARGS_INIT(debug && strcmp(debug, "1") == 0 ? 2 : 1, args_v);
	if (cuse) {
		const char *dev_info[] = {"DEVNAME=fuse-uapi-peer"};
		struct cuse_info ci;
		memset(&ci, 0, sizeof(ci));
		ci.dev_info_argc = 1;
		ci.dev_info_argv = dev_info;
		session = cuse_lowlevel_new(&args, &ci, &cuse_ops, NULL);
	} else {
		session = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	}
	if (!session) {
		fprintf(stderr, "peer_fs: libfuse refused to create the session\n");
		return 2;
	}
	const struct fuse_custom_io io = {.writev = io_writev, .read = io_read};
	if (fuse_session_custom_io(session, &io, sizeof(io), sv[1]) != 0) {
		fprintf(stderr, "peer_fs: fuse_session_custom_io failed\n");
		return 2;
	}

	pthread_t in, out;
	if (pthread_create(&in, NULL, feeder, NULL) != 0 || pthread_create(&out, NULL, collector, NULL) != 0)
		die("pthread_create");
	int res = fuse_session_loop(session);
	if (poll_handle)
		fuse_pollhandle_destroy(poll_handle);
	fuse_session_destroy(session); /* closes libfuse's end: the collector sees the end */
	pthread_join(out, NULL);
	if (res != 0) {
		fprintf(stderr, "peer_fs: fuse_session_loop ended with %d\n", res);
		return 1;
	}
	return 0; /* the feeder may still wait on stdin; exiting ends it */
}
