/*
 * compound_peer: a C peer for fuse-uapi's FUSE_COMPOUND builders and parsers.
 *
 * Compiled once per revision against that revision's own header, it reads and writes
 * compound messages only through the header's structs (struct fuse_in_header, struct
 * fuse_out_header, struct fuse_compound_in/out and the op argument structs, sizes by
 * sizeof), and applies the kernel's rules of the revision as given on the command lines:
 * nothing in here knows a revision's name.
 *
 * Compile-time (from the revision's compound data):
 *   -DFUSE_HEADER='"path/fuse.h"'   the header
 *   -DCOMPOUND_OPCODE=FUSE_COMPOUND the opcode enumerator of a compound request
 *   -DFLAGS_FIELD=flags -DRESULT_SIZE_FIELD=result_size   members of struct fuse_compound_in,
 *                                                         only where the revision has them
 *   -DCOUNT_IN_FIELD=count -DCOUNT_OUT_FIELD=count        only where the revision has counts
 *   -DPREFIX_STRUCT=name -DDEP_FIELD=member -DNO_DEP=V    a struct before every sub-request whose
 *                                                         DEP_FIELD names the op it depends on
 *                                                         (NO_DEP: none); all other bytes 0
 *
 * Run time:  compound_peer <mode> [--option=value ...]
 *   write-request   build the compound request of the --op scenario; bytes to stdout
 *   check-request   read a compound request (stdin) and check it field by field
 *   write-reply     write the fixed reply scenario (OPEN ok, GETATTR -EACCES, LOOKUP ok)
 *   check-reply     read a reply to that scenario (stdin) the way the kernel walks it, check it
 *
 *   header:     --unique=N --uid=N --gid=N --pid=N --outer-nodeid=N --flags=N
 *   sub-header: --sub-unique=fresh-unique|zero|op-index --fresh-uniques=A,B,...
 *               --sub-uid=copy-parent|zero --sub-gid=... --sub-pid=...
 *   layout:     --align-requests=N --align-replies=N --result-size-includes-headers
 *   requests:   --op=NAME:nodeid=N[:name=S][:dep=I][:member=V]...   (in order; repeatable)
 *               --count-from=count-field|sub-request-lengths --max-ops=N
 *               --reject-opcode-zero --reject-nested --reject-nodeid-zero --lengths-sum
 *   replies:    --min-op-len=N --op-len-in-bounds --min-payload=N
 *               --ops-parsed=server-count|min-count|until-end
 *               --advance=expected-out-args|len --copy-when=len-exceeds-header|no-error
 *
 * Exit status: 0 all checks passed (a summary on stdout), 1 a check failed (each failure on
 * stderr), 2 bad usage.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include FUSE_HEADER

#ifndef COMPOUND_OPCODE
#error "define COMPOUND_OPCODE (the opcode enumerator of a compound request)"
#endif
#if defined(PREFIX_STRUCT) && (!defined(DEP_FIELD) || !defined(NO_DEP))
#error "PREFIX_STRUCT needs DEP_FIELD and NO_DEP"
#endif
#ifdef PREFIX_STRUCT
#define PREFIX_SIZE sizeof(struct PREFIX_STRUCT)
#else
#define PREFIX_SIZE 0
#endif

#define MAX_OPS 64
#define MAX_MSG (1 << 20)
#define MEMBER_SIZE(st, m) sizeof(((struct st *)0)->m)

/* ---- what the peer knows about ops: argument and reply structs, through the header ---- */

struct op_desc {
	const char *name;
	uint32_t opcode;
	size_t in_size; /* the fixed argument struct, 0 for none */
	int has_name;   /* a NUL-terminated name follows the struct */
	size_t out_size;
};

static const struct op_desc OPS[] = {
	{ "FUSE_OPEN", FUSE_OPEN, sizeof(struct fuse_open_in), 0, sizeof(struct fuse_open_out) },
	{ "FUSE_OPENDIR", FUSE_OPENDIR, sizeof(struct fuse_open_in), 0, sizeof(struct fuse_open_out) },
	{ "FUSE_GETATTR", FUSE_GETATTR, sizeof(struct fuse_getattr_in), 0, sizeof(struct fuse_attr_out) },
	{ "FUSE_LOOKUP", FUSE_LOOKUP, 0, 1, sizeof(struct fuse_entry_out) },
	{ "FUSE_STATX", FUSE_STATX, sizeof(struct fuse_statx_in), 0, sizeof(struct fuse_statx_out) },
	{ "FUSE_CREATE", FUSE_CREATE, sizeof(struct fuse_create_in), 1,
	  sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out) },
	{ "FUSE_ACCESS", FUSE_ACCESS, sizeof(struct fuse_access_in), 0, 0 },
};

struct member_desc {
	const char *op;
	const char *member;
	size_t offset;
	size_t size;
};

#define M(op, st, m) { op, #m, offsetof(struct st, m), MEMBER_SIZE(st, m) }
static const struct member_desc MEMBERS[] = {
	M("FUSE_OPEN", fuse_open_in, flags),
	M("FUSE_OPEN", fuse_open_in, open_flags),
	M("FUSE_OPENDIR", fuse_open_in, flags),
	M("FUSE_OPENDIR", fuse_open_in, open_flags),
	M("FUSE_GETATTR", fuse_getattr_in, getattr_flags),
	M("FUSE_GETATTR", fuse_getattr_in, fh),
	M("FUSE_STATX", fuse_statx_in, getattr_flags),
	M("FUSE_STATX", fuse_statx_in, fh),
	M("FUSE_STATX", fuse_statx_in, sx_flags),
	M("FUSE_STATX", fuse_statx_in, sx_mask),
	M("FUSE_CREATE", fuse_create_in, flags),
	M("FUSE_CREATE", fuse_create_in, mode),
	M("FUSE_CREATE", fuse_create_in, umask),
	M("FUSE_CREATE", fuse_create_in, open_flags),
	M("FUSE_ACCESS", fuse_access_in, mask),
};
#undef M

/* ---- options ---- */

struct scenario_op {
	const struct op_desc *desc;
	uint64_t nodeid;
	const char *name;
	long dep; /* the op it depends on, -1 for none */
	unsigned char args[256];
	size_t args_len;
};

static struct {
	uint64_t unique, outer_nodeid;
	uint32_t uid, gid, pid, flags;
	const char *sub_unique, *sub_uid, *sub_gid, *sub_pid;
	uint64_t fresh[MAX_OPS];
	size_t nfresh;
	size_t align_requests, align_replies;
	int result_includes_headers;
	struct scenario_op ops[MAX_OPS];
	size_t nops;
	const char *count_from;
	long max_ops;
	int reject_opcode_zero, reject_nested, reject_nodeid_zero, lengths_sum;
	size_t min_op_len, min_payload;
	int op_len_in_bounds;
	const char *ops_parsed, *advance, *copy_when;
} opt = {
	.sub_unique = "zero", .sub_uid = "copy-parent", .sub_gid = "copy-parent", .sub_pid = "copy-parent",
	.align_requests = 1, .align_replies = 1, .count_from = "count-field", .max_ops = -1,
	.min_op_len = sizeof(struct fuse_out_header), .ops_parsed = "until-end", .advance = "len",
	.copy_when = "no-error",
};

static int failures;

#define FAIL(...)                                   \
	do {                                        \
		fprintf(stderr, "FAIL: " __VA_ARGS__); \
		fputc('\n', stderr);                \
		failures++;                         \
	} while (0)

static void usage(const char *why)
{
	fprintf(stderr, "compound_peer: %s\n", why);
	exit(2);
}

static uint64_t number(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *s == '\0' || *end != '\0') {
		fprintf(stderr, "compound_peer: %s: not a number: %s\n", what, s);
		exit(2);
	}
	return (uint64_t)v;
}

static const struct op_desc *find_op(const char *name)
{
	for (size_t i = 0; i < sizeof(OPS) / sizeof(OPS[0]); i++)
		if (strcmp(OPS[i].name, name) == 0)
			return &OPS[i];
	return NULL;
}

static void put_member(unsigned char *p, size_t size, uint64_t v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;
	switch (size) {
	case 1: memcpy(p, &u8, 1); break;
	case 2: memcpy(p, &u16, 2); break;
	case 4: memcpy(p, &u32, 4); break;
	case 8: memcpy(p, &v, 8); break;
	default: usage("member of unsupported size");
	}
}

/* --op=NAME:nodeid=N[:name=S][:member=V]... : the argument bytes, built through the header's structs */
static void parse_op(char *spec)
{
	if (opt.nops == MAX_OPS)
		usage("too many --op");
	struct scenario_op *op = &opt.ops[opt.nops++];
	char *save = NULL;
	char *tok = strtok_r(spec, ":", &save);
	if (!tok || !(op->desc = find_op(tok)))
		usage("--op: unknown op name");
	memset(op->args, 0, sizeof(op->args));
	op->dep = -1;
	while ((tok = strtok_r(NULL, ":", &save))) {
		char *eq = strchr(tok, '=');
		if (!eq)
			usage("--op: expected key=value");
		*eq = '\0';
		const char *key = tok, *val = eq + 1;
		if (strcmp(key, "nodeid") == 0) {
			op->nodeid = number(val, "nodeid");
		} else if (strcmp(key, "name") == 0) {
			op->name = val;
		} else if (strcmp(key, "dep") == 0) {
#ifndef PREFIX_STRUCT
			usage("--op dep= needs -DPREFIX_STRUCT");
#endif
			op->dep = (long)number(val, "dep");
		} else {
			const struct member_desc *m = NULL;
			for (size_t i = 0; i < sizeof(MEMBERS) / sizeof(MEMBERS[0]); i++)
				if (strcmp(MEMBERS[i].op, op->desc->name) == 0 && strcmp(MEMBERS[i].member, key) == 0)
					m = &MEMBERS[i];
			if (!m) {
				fprintf(stderr, "compound_peer: %s has no member %s here\n", op->desc->name, key);
				exit(2);
			}
			put_member(op->args + m->offset, m->size, number(val, key));
		}
	}
	op->args_len = op->desc->in_size;
	if (op->desc->has_name) {
		if (!op->name)
			usage("--op: this op needs name=");
		size_t n = strlen(op->name) + 1;
		if (op->args_len + n > sizeof(op->args))
			usage("--op: name too long");
		memcpy(op->args + op->args_len, op->name, n);
		op->args_len += n;
	}
}

static void parse_args(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		char *a = argv[i];
		char *eq = strchr(a, '=');
		const char *v = eq ? eq + 1 : NULL;
		size_t klen = eq ? (size_t)(eq - a) : strlen(a);
#define IS(k) (strlen(k) == klen && strncmp(a, k, klen) == 0)
#define NEED() do { if (!v) usage(a); } while (0)
		if (IS("--unique")) { NEED(); opt.unique = number(v, a); }
		else if (IS("--uid")) { NEED(); opt.uid = (uint32_t)number(v, a); }
		else if (IS("--gid")) { NEED(); opt.gid = (uint32_t)number(v, a); }
		else if (IS("--pid")) { NEED(); opt.pid = (uint32_t)number(v, a); }
		else if (IS("--outer-nodeid")) { NEED(); opt.outer_nodeid = number(v, a); }
		else if (IS("--flags")) { NEED(); opt.flags = (uint32_t)number(v, a); }
		else if (IS("--sub-unique")) { NEED(); opt.sub_unique = v; }
		else if (IS("--sub-uid")) { NEED(); opt.sub_uid = v; }
		else if (IS("--sub-gid")) { NEED(); opt.sub_gid = v; }
		else if (IS("--sub-pid")) { NEED(); opt.sub_pid = v; }
		else if (IS("--fresh-uniques")) {
			NEED();
			char *list = strdup(v), *save = NULL;
			for (char *t = strtok_r(list, ",", &save); t && opt.nfresh < MAX_OPS; t = strtok_r(NULL, ",", &save))
				opt.fresh[opt.nfresh++] = number(t, a);
		}
		else if (IS("--align-requests")) { NEED(); opt.align_requests = number(v, a); }
		else if (IS("--align-replies")) { NEED(); opt.align_replies = number(v, a); }
		else if (IS("--result-size-includes-headers")) opt.result_includes_headers = 1;
		else if (IS("--op")) { NEED(); parse_op(strdup(v)); }
		else if (IS("--count-from")) { NEED(); opt.count_from = v; }
		else if (IS("--max-ops")) { NEED(); opt.max_ops = (long)number(v, a); }
		else if (IS("--reject-opcode-zero")) opt.reject_opcode_zero = 1;
		else if (IS("--reject-nested")) opt.reject_nested = 1;
		else if (IS("--reject-nodeid-zero")) opt.reject_nodeid_zero = 1;
		else if (IS("--lengths-sum")) opt.lengths_sum = 1;
		else if (IS("--min-op-len")) { NEED(); opt.min_op_len = number(v, a); }
		else if (IS("--min-payload")) { NEED(); opt.min_payload = number(v, a); }
		else if (IS("--op-len-in-bounds")) opt.op_len_in_bounds = 1;
		else if (IS("--ops-parsed")) { NEED(); opt.ops_parsed = v; }
		else if (IS("--advance")) { NEED(); opt.advance = v; }
		else if (IS("--copy-when")) { NEED(); opt.copy_when = v; }
		else usage(a);
#undef IS
#undef NEED
	}
	if (opt.align_requests == 0 || opt.align_replies == 0)
		usage("alignment must be at least 1");
}

static size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

/* ---- the sub-header rules ---- */

static uint64_t sub_unique(size_t i)
{
	if (strcmp(opt.sub_unique, "zero") == 0)
		return 0;
	if (strcmp(opt.sub_unique, "op-index") == 0)
		return i;
	if (strcmp(opt.sub_unique, "fresh-unique") == 0) {
		if (i >= opt.nfresh)
			usage("fresh-unique needs --fresh-uniques for every op");
		return opt.fresh[i];
	}
	usage("unknown --sub-unique rule");
	return 0;
}

static uint32_t sub_cred(const char *rule, uint32_t parent)
{
	if (strcmp(rule, "copy-parent") == 0)
		return parent;
	if (strcmp(rule, "zero") == 0)
		return 0;
	usage("unknown credential rule");
	return 0;
}

static __attribute__((unused)) size_t result_size(void)
{
	size_t sum = 0;
	for (size_t i = 0; i < opt.nops; i++)
		sum += opt.ops[i].desc->out_size + (opt.result_includes_headers ? sizeof(struct fuse_out_header) : 0);
	return sum;
}

/* ---- requests ---- */

static size_t build_request(unsigned char *buf, size_t cap)
{
	size_t at = sizeof(struct fuse_in_header) + sizeof(struct fuse_compound_in);
	size_t area = at;
	for (size_t i = 0; i < opt.nops; i++) {
		const struct scenario_op *op = &opt.ops[i];
		struct fuse_in_header h;
		memset(&h, 0, sizeof(h));
		h.len = (uint32_t)(sizeof(h) + op->args_len);
		h.opcode = op->desc->opcode;
		h.unique = sub_unique(i);
		h.nodeid = op->nodeid;
		h.uid = sub_cred(opt.sub_uid, opt.uid);
		h.gid = sub_cred(opt.sub_gid, opt.gid);
		h.pid = sub_cred(opt.sub_pid, opt.pid);
		if (at + PREFIX_SIZE + h.len > cap)
			usage("request too large");
		size_t start = at;
#ifdef PREFIX_STRUCT
		struct PREFIX_STRUCT pre;
		memset(&pre, 0, sizeof(pre));
		pre.DEP_FIELD = op->dep < 0 ? NO_DEP : op->dep;
		memcpy(buf + at, &pre, sizeof(pre));
		at += sizeof(pre);
#endif
		memcpy(buf + at, &h, sizeof(h));
		memcpy(buf + at + sizeof(h), op->args, op->args_len);
		size_t next = area + align_up(start - area + PREFIX_SIZE + h.len, opt.align_requests);
		memset(buf + at + h.len, 0, next - at - h.len);
		at = next;
	}
	struct fuse_in_header outer;
	memset(&outer, 0, sizeof(outer));
	outer.len = (uint32_t)at;
	outer.opcode = COMPOUND_OPCODE;
	outer.unique = opt.unique;
	outer.nodeid = opt.outer_nodeid;
	outer.uid = opt.uid;
	outer.gid = opt.gid;
	outer.pid = opt.pid;
	struct fuse_compound_in ci;
	memset(&ci, 0, sizeof(ci));
#ifdef FLAGS_FIELD
	ci.FLAGS_FIELD = opt.flags;
#endif
#ifdef RESULT_SIZE_FIELD
	ci.RESULT_SIZE_FIELD = (uint32_t)result_size();
#endif
#ifdef COUNT_IN_FIELD
	ci.COUNT_IN_FIELD = (uint32_t)opt.nops;
#endif
	memcpy(buf, &outer, sizeof(outer));
	memcpy(buf + sizeof(outer), &ci, sizeof(ci));
	return at;
}

static void check_request(const unsigned char *msg, size_t n)
{
	struct fuse_in_header outer;
	struct fuse_compound_in ci;
	size_t head = sizeof(outer) + sizeof(ci);
	if (n < head) {
		FAIL("%zu bytes, fewer than fuse_in_header + fuse_compound_in (%zu)", n, head);
		return;
	}
	memcpy(&outer, msg, sizeof(outer));
	memcpy(&ci, msg + sizeof(outer), sizeof(ci));
	if (outer.len != n) FAIL("fuse_in_header.len %u, message has %zu bytes", outer.len, n);
	if (outer.opcode != (uint32_t)COMPOUND_OPCODE) FAIL("opcode %u, expected %u", outer.opcode, (uint32_t)COMPOUND_OPCODE);
	if (outer.unique != opt.unique) FAIL("unique %llu, expected %llu", (unsigned long long)outer.unique, (unsigned long long)opt.unique);
	if (outer.nodeid != opt.outer_nodeid) FAIL("outer nodeid %llu, expected %llu", (unsigned long long)outer.nodeid, (unsigned long long)opt.outer_nodeid);
	if (outer.uid != opt.uid || outer.gid != opt.gid || outer.pid != opt.pid) FAIL("outer uid/gid/pid %u/%u/%u", outer.uid, outer.gid, outer.pid);
	if (outer.total_extlen != 0) FAIL("outer total_extlen %u", outer.total_extlen);
#ifdef FLAGS_FIELD
	if (ci.FLAGS_FIELD != opt.flags) FAIL("compound flags %u, expected %u", (unsigned)ci.FLAGS_FIELD, opt.flags);
#else
	if (opt.flags != 0) usage("--flags needs -DFLAGS_FIELD");
#endif
#ifdef RESULT_SIZE_FIELD
	if (ci.RESULT_SIZE_FIELD != result_size()) FAIL("result_size %u, expected %zu", (unsigned)ci.RESULT_SIZE_FIELD, result_size());
#endif

	long count = -1; /* -1: walk the lengths to the end */
#ifdef COUNT_IN_FIELD
	if (ci.COUNT_IN_FIELD != opt.nops) FAIL("count %u, expected %zu ops", (unsigned)ci.COUNT_IN_FIELD, opt.nops);
	if (strcmp(opt.count_from, "count-field") == 0)
		count = (long)ci.COUNT_IN_FIELD;
#endif
	if (strcmp(opt.count_from, "count-field") == 0 && count < 0)
		usage("--count-from=count-field needs -DCOUNT_IN_FIELD");
	if (opt.max_ops >= 0 && count > opt.max_ops) FAIL("count %ld exceeds the limit %ld", count, opt.max_ops);

	size_t area = head, at = head, i = 0;
	uint64_t seen[MAX_OPS];
	for (; count < 0 ? at < n : (long)i < count; i++) {
		struct fuse_in_header h;
		size_t start = at;
#ifdef PREFIX_STRUCT
		struct PREFIX_STRUCT pre, want_pre;
		if (n - at < sizeof(pre)) {
			FAIL("sub-request %zu at %zu: %zu bytes left, its prefix needs %zu", i, at - area, n - at, sizeof(pre));
			return;
		}
		memcpy(&pre, msg + at, sizeof(pre));
		memset(&want_pre, 0, sizeof(want_pre));
		if (i < opt.nops) want_pre.DEP_FIELD = opt.ops[i].dep < 0 ? NO_DEP : opt.ops[i].dep;
		if (pre.DEP_FIELD != want_pre.DEP_FIELD) FAIL("sub-request %zu: dependency %ld, expected %ld", i, (long)pre.DEP_FIELD, (long)want_pre.DEP_FIELD);
		else if (memcmp(&pre, &want_pre, sizeof(pre)) != 0) FAIL("sub-request %zu: reserved prefix bytes are not 0", i);
		at += sizeof(pre);
#endif
		if (n - at < sizeof(h)) {
			FAIL("sub-request %zu at %zu: %zu bytes left, a header needs %zu", i, at - area, n - at, sizeof(h));
			return;
		}
		memcpy(&h, msg + at, sizeof(h));
		if (h.len < sizeof(h) || h.len > n - at) {
			FAIL("sub-request %zu at %zu: len %u outside %zu..%zu", i, at - area, h.len, sizeof(h), n - at);
			return;
		}
		if (i >= opt.nops || i >= MAX_OPS) {
			FAIL("sub-request %zu is beyond the %zu ops expected", i, opt.nops);
			return;
		}
		const struct scenario_op *op = &opt.ops[i];
		if (opt.reject_opcode_zero && h.opcode == 0) FAIL("sub-request %zu: opcode 0", i);
		if (opt.reject_nested && h.opcode == (uint32_t)COMPOUND_OPCODE) FAIL("sub-request %zu: nested compound", i);
		if (opt.reject_nodeid_zero && h.nodeid == 0) FAIL("sub-request %zu: nodeid 0", i);
		if (h.opcode != op->desc->opcode) FAIL("sub-request %zu: opcode %u, expected %s (%u)", i, h.opcode, op->desc->name, op->desc->opcode);
		if (h.nodeid != op->nodeid) FAIL("sub-request %zu: nodeid %llu, expected %llu", i, (unsigned long long)h.nodeid, (unsigned long long)op->nodeid);
		if (h.len != sizeof(h) + op->args_len) FAIL("sub-request %zu: len %u, expected header + args = %zu", i, h.len, sizeof(h) + op->args_len);
		else if (memcmp(msg + at + sizeof(h), op->args, op->args_len) != 0) FAIL("sub-request %zu: argument bytes differ", i);
		if (op->desc->has_name && h.len >= sizeof(h) + op->desc->in_size + 1 && msg[at + h.len - 1] != '\0') FAIL("sub-request %zu: name not NUL-terminated", i);
		if (strcmp(opt.sub_unique, "fresh-unique") == 0) {
			if (h.unique == 0 || h.unique == outer.unique) FAIL("sub-request %zu: unique %llu is not fresh", i, (unsigned long long)h.unique);
			for (size_t j = 0; j < i; j++)
				if (seen[j] == h.unique) FAIL("sub-request %zu: unique %llu used twice", i, (unsigned long long)h.unique);
			if (i < opt.nfresh && h.unique != opt.fresh[i]) FAIL("sub-request %zu: unique %llu, expected %llu", i, (unsigned long long)h.unique, (unsigned long long)opt.fresh[i]);
		} else if (h.unique != sub_unique(i)) {
			FAIL("sub-request %zu: unique %llu, rule %s wants %llu", i, (unsigned long long)h.unique, opt.sub_unique, (unsigned long long)sub_unique(i));
		}
		seen[i] = h.unique;
		if (h.uid != sub_cred(opt.sub_uid, outer.uid)) FAIL("sub-request %zu: uid %u against rule %s", i, h.uid, opt.sub_uid);
		if (h.gid != sub_cred(opt.sub_gid, outer.gid)) FAIL("sub-request %zu: gid %u against rule %s", i, h.gid, opt.sub_gid);
		if (h.pid != sub_cred(opt.sub_pid, outer.pid)) FAIL("sub-request %zu: pid %u against rule %s", i, h.pid, opt.sub_pid);
		if (h.total_extlen != 0) FAIL("sub-request %zu: total_extlen %u", i, h.total_extlen);
		if (h.padding != 0) FAIL("sub-request %zu: padding %u", i, h.padding);
		size_t next = area + align_up(start - area + PREFIX_SIZE + h.len, opt.align_requests);
		for (size_t k = at + h.len; k < next && k < n; k++)
			if (msg[k] != 0) FAIL("sub-request %zu: alignment padding byte %zu is not zero", i, k - area);
		at = next;
	}
	if (i != opt.nops) FAIL("%zu sub-requests, expected %zu", i, opt.nops);
	if (at != n) FAIL("the sub-requests end at %zu, the message at %zu%s", at, n, opt.lengths_sum ? " (the kernel requires them to add up)" : "");

	/* And the whole message byte for byte against the one built here. */
	static unsigned char want[MAX_MSG];
	size_t wn = build_request(want, sizeof(want));
	if (wn != n) FAIL("%zu bytes, the peer builds %zu", n, wn);
	for (size_t k = 0; k < n && k < wn; k++)
		if (msg[k] != want[k]) {
			FAIL("first differing byte at offset %zu: 0x%02x, the peer has 0x%02x", k, msg[k], want[k]);
			break;
		}
	if (!failures) printf("ok: request with %zu sub-requests, %zu bytes\n", i, n);
}

/* ---- replies: the fixed scenario OPEN ok, GETATTR -EACCES, LOOKUP ok ---- */

#define REPLY_OPS 3
static const size_t reply_out_size[REPLY_OPS] = {
	sizeof(struct fuse_open_out), sizeof(struct fuse_attr_out), sizeof(struct fuse_entry_out),
};
static const int32_t reply_error[REPLY_OPS] = { 0, -EACCES, 0 };

static struct fuse_open_out scenario_open(void)
{
	struct fuse_open_out o;
	memset(&o, 0, sizeof(o));
	o.fh = 0x1122334455667788ULL;
	o.open_flags = 2;
	return o;
}

static struct fuse_entry_out scenario_entry(void)
{
	struct fuse_entry_out e;
	memset(&e, 0, sizeof(e));
	e.nodeid = 42;
	e.generation = 7;
	e.entry_valid = 1;
	e.attr_valid = 2;
	e.attr.ino = 42;
	e.attr.size = 11;
	e.attr.mode = 0100644;
	e.attr.nlink = 1;
	e.attr.uid = 1000;
	e.attr.gid = 1000;
	return e;
}

static size_t write_reply(unsigned char *buf)
{
	size_t head = sizeof(struct fuse_out_header) + sizeof(struct fuse_compound_out);
	size_t at = head;
	struct fuse_open_out open_out = scenario_open();
	struct fuse_entry_out entry_out = scenario_entry();
	for (size_t i = 0; i < REPLY_OPS; i++) {
		struct fuse_out_header h;
		memset(&h, 0, sizeof(h));
		const void *args = NULL;
		size_t args_len = 0;
		if (i == 0) { args = &open_out; args_len = sizeof(open_out); }
		if (i == 2) { args = &entry_out; args_len = sizeof(entry_out); }
		h.len = (uint32_t)(sizeof(h) + args_len);
		h.error = reply_error[i];
		h.unique = sub_unique(i);
		memcpy(buf + at, &h, sizeof(h));
		if (args_len) memcpy(buf + at + sizeof(h), args, args_len);
		size_t next = head + align_up(at - head + h.len, opt.align_replies);
		memset(buf + at + h.len, 0, next - at - h.len);
		at = next;
	}
	struct fuse_out_header outer;
	memset(&outer, 0, sizeof(outer));
	outer.len = (uint32_t)at;
	outer.error = 0;
	outer.unique = opt.unique;
	struct fuse_compound_out co;
	memset(&co, 0, sizeof(co));
#ifdef COUNT_OUT_FIELD
	co.COUNT_OUT_FIELD = REPLY_OPS;
#endif
	memcpy(buf, &outer, sizeof(outer));
	memcpy(buf + sizeof(outer), &co, sizeof(co));
	return at;
}

/* The kernel's walk of the sub-replies, by the rules given; then the scenario's values. */
static void check_reply(const unsigned char *msg, size_t n)
{
	struct fuse_out_header outer;
	struct fuse_compound_out co;
	size_t head = sizeof(outer) + sizeof(co);
	if (n < head) {
		FAIL("%zu bytes, fewer than fuse_out_header + fuse_compound_out (%zu)", n, head);
		return;
	}
	memcpy(&outer, msg, sizeof(outer));
	memcpy(&co, msg + sizeof(outer), sizeof(co));
	if (outer.len != n) FAIL("fuse_out_header.len %u, message has %zu bytes", outer.len, n);
	if (outer.error != 0) FAIL("compound error %d", outer.error);
	if (outer.unique != opt.unique) FAIL("unique %llu, expected %llu", (unsigned long long)outer.unique, (unsigned long long)opt.unique);
	size_t end = n - head, budget = 0;
	for (size_t i = 0; i < REPLY_OPS; i++) budget += reply_out_size[i] + sizeof(struct fuse_out_header);
	if (end < opt.min_payload) FAIL("%zu bytes of sub-replies, below the minimum %zu", end, opt.min_payload);
	if (end > budget) FAIL("%zu bytes of sub-replies, above result size plus headers %zu", end, budget);
	long walk = -1;
#ifdef COUNT_OUT_FIELD
	if (co.COUNT_OUT_FIELD != REPLY_OPS) FAIL("reply count %u, expected %d", (unsigned)co.COUNT_OUT_FIELD, REPLY_OPS);
	if (strcmp(opt.ops_parsed, "server-count") == 0) walk = (long)co.COUNT_OUT_FIELD;
	if (strcmp(opt.ops_parsed, "min-count") == 0) walk = (long)(co.COUNT_OUT_FIELD < REPLY_OPS ? co.COUNT_OUT_FIELD : REPLY_OPS);
#endif
	if (walk < 0 && strcmp(opt.ops_parsed, "until-end") != 0)
		usage("--ops-parsed with a count needs -DCOUNT_OUT_FIELD");
	if (walk > REPLY_OPS) {
		FAIL("the reply counts %ld ops, the compound has %d", walk, REPLY_OPS);
		return;
	}
	const unsigned char *p = msg + head;
	size_t at = 0, i = 0;
	int32_t errors[REPLY_OPS] = { 0, 0, 0 };
	int copied[REPLY_OPS] = { 0, 0, 0 };
	struct fuse_open_out open_out;
	struct fuse_attr_out attr_out;
	struct fuse_entry_out entry_out;
	void *dest[REPLY_OPS] = { &open_out, &attr_out, &entry_out };
	memset(&open_out, 0, sizeof(open_out));
	memset(&attr_out, 0, sizeof(attr_out));
	memset(&entry_out, 0, sizeof(entry_out));
	for (; walk < 0 ? at < end : (long)i < walk; i++) {
		struct fuse_out_header h;
		if (i >= REPLY_OPS) {
			FAIL("sub-reply %zu is beyond the %d ops", i, REPLY_OPS);
			return;
		}
		if (end - at < opt.min_op_len) {
			FAIL("sub-reply %zu at %zu: %zu bytes left, below %zu", i, at, end - at, opt.min_op_len);
			return;
		}
		memcpy(&h, p + at, sizeof(h));
		if (h.len < opt.min_op_len) { FAIL("sub-reply %zu: len %u below %zu", i, h.len, opt.min_op_len); return; }
		if (opt.op_len_in_bounds && h.len > end - at) { FAIL("sub-reply %zu: len %u past the end", i, h.len); return; }
		errors[i] = h.error;
		if (h.unique != sub_unique(i)) FAIL("sub-reply %zu: unique %llu, the sub-request had %llu", i, (unsigned long long)h.unique, (unsigned long long)sub_unique(i));
		int copy = strcmp(opt.copy_when, "no-error") == 0 ? h.error == 0 : h.len > opt.min_op_len;
		if (copy) {
			if (at + sizeof(h) + reply_out_size[i] > end) { FAIL("sub-reply %zu: out args reach past the end", i); return; }
			memcpy(dest[i], p + at + sizeof(h), reply_out_size[i]);
			copied[i] = 1;
		}
		size_t step = strcmp(opt.advance, "len") == 0 ? h.len : opt.min_op_len + (h.len > opt.min_op_len ? reply_out_size[i] : 0);
		at = align_up(at + step, opt.align_replies);
	}
	if (i != REPLY_OPS) FAIL("walked %zu sub-replies, expected %d", i, REPLY_OPS);
	for (size_t k = 0; k < REPLY_OPS; k++)
		if (errors[k] != reply_error[k]) FAIL("op %zu: error %d, expected %d", k, errors[k], reply_error[k]);
	struct fuse_open_out want_open = scenario_open();
	struct fuse_entry_out want_entry = scenario_entry();
	if (!copied[0] || memcmp(&open_out, &want_open, sizeof(open_out)) != 0) FAIL("op 0: fuse_open_out differs (fh %llx)", (unsigned long long)open_out.fh);
	if (copied[1]) FAIL("op 1: the failed GETATTR had out args copied");
	if (!copied[2] || memcmp(&entry_out, &want_entry, sizeof(entry_out)) != 0) FAIL("op 2: fuse_entry_out differs (nodeid %llu)", (unsigned long long)entry_out.nodeid);
	/* And byte for byte against the reply written here. */
	static unsigned char want[MAX_MSG];
	size_t wn = write_reply(want);
	if (wn != n || memcmp(want, msg, n) != 0) FAIL("the reply differs from the one the peer writes (%zu vs %zu bytes)", n, wn);
	if (!failures) printf("ok: reply with %zu sub-replies, errors %d %d %d, fh 0x%llx, nodeid %llu\n", i, errors[0], errors[1], errors[2], (unsigned long long)open_out.fh, (unsigned long long)entry_out.nodeid);
}

static size_t read_all(unsigned char *buf, size_t cap)
{
	size_t n = 0, r;
	while ((r = fread(buf + n, 1, cap - n, stdin)) > 0) {
		n += r;
		if (n == cap) usage("input too large");
	}
	return n;
}

int main(int argc, char **argv)
{
	static unsigned char buf[MAX_MSG];
	if (argc < 2)
		usage("mode: write-request | check-request | write-reply | check-reply");
	parse_args(argc, argv);
	const char *mode = argv[1];
	if (strcmp(mode, "write-request") == 0) {
		size_t n = build_request(buf, sizeof(buf));
		fwrite(buf, 1, n, stdout);
	} else if (strcmp(mode, "check-request") == 0) {
		check_request(buf, read_all(buf, sizeof(buf)));
	} else if (strcmp(mode, "write-reply") == 0) {
		size_t n = write_reply(buf);
		fwrite(buf, 1, n, stdout);
	} else if (strcmp(mode, "check-reply") == 0) {
		check_reply(buf, read_all(buf, sizeof(buf)));
	} else {
		usage("unknown mode");
	}
	return failures ? 1 : 0;
}
