/* IDX files (the MNIST family), plain or gzip'd: zlib's gzread passes plain
 * files through, so one path reads both. Every size in the headers is
 * checked against the file before anything is allocated. */
#include "thaw/data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* The bytes come from a file through gzread, or from memory: copied when
 * plain, inflated when gzip'd. */
typedef struct idxfile {
	const char *path;
	gzFile f;
	const unsigned char *buf; /* memory: the whole file */
	size_t len, pos;
	int is_gz, zinit, zend; /* memory: gzip'd; z is set up; its stream ended */
	z_stream z;
	int ndim;
	uint32_t dim[4];
	size_t count; /* product of the dims */
} idxfile;

/* The uncompressed size the file should hold: the plain size, or the gzip
 * trailer's ISIZE (the size modulo 2^32). */
static int stored_size(const char *path, uint64_t *size, uint64_t *file_len, int *is_gz)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return thaw_error(THAW_EIO, "%s: cannot open: %s", path, strerror(errno));
	unsigned char m[2] = {0, 0};
	size_t got = fread(m, 1, 2, f);
	*is_gz = got == 2 && m[0] == 0x1f && m[1] == 0x8b;
	if (fseek(f, 0, SEEK_END)) {
		fclose(f);
		return thaw_error(THAW_EIO, "%s: cannot seek: %s", path, strerror(errno));
	}
	long end = ftell(f);
	*size = end > 0 ? (uint64_t)end : 0;
	*file_len = *size;
	if (*is_gz) {
		unsigned char t[4];
		if (end < 18 || fseek(f, -4, SEEK_END) || fread(t, 1, 4, f) != 4) {
			fclose(f);
			return thaw_error(THAW_EFORMAT, "%s: truncated gzip file (%ld bytes)", path, end);
		}
		*size = (uint64_t)t[0] | (uint64_t)t[1] << 8 | (uint64_t)t[2] << 16 | (uint64_t)t[3] << 24;
	}
	fclose(f);
	return 0;
}

/* zlib's messages start with the path; ours already do. */
static const char *skip_path(const char *m, const char *path)
{
	size_t k = strlen(path);
	return !strncmp(m, path, k) && !strncmp(m + k, ": ", 2) ? m + k + 2 : m;
}

static int gzerr(idxfile *x, const char *what)
{
	int zerr;
	const char *m = skip_path(gzerror(x->f, &zerr), x->path);
	if (zerr != Z_OK && zerr != Z_STREAM_END)
		return thaw_error(THAW_EFORMAT, "%s: corrupt gzip data while reading %s (%s)", x->path,
				  what, m);
	return thaw_error(THAW_EFORMAT, "%s: truncated file while reading %s", x->path, what);
}

/* Up to n bytes from memory into p: the count, 0 at the end, < 0 when
 * the gzip data is corrupt (z.msg says why). Members after the first are
 * read on, as gzread does. */
static long mem_read(idxfile *x, unsigned char *p, size_t n)
{
	if (!x->is_gz) {
		size_t k = x->len - x->pos < n ? x->len - x->pos : n;
		memcpy(p, x->buf + x->pos, k);
		x->pos += k;
		return (long)k;
	}
	x->z.next_out = p;
	x->z.avail_out = (uInt)n;
	while (x->z.avail_out) {
		if (x->zend) {
			/* another member, or the end (trailing bytes that are not a
			 * member are ignored, as by gzread) */
			if (x->z.avail_in < 2 || x->z.next_in[0] != 0x1f || x->z.next_in[1] != 0x8b)
				break;
			inflateReset(&x->z);
			x->zend = 0;
		}
		int zr = inflate(&x->z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END)
			x->zend = 1;
		else if (zr == Z_BUF_ERROR || (zr == Z_OK && !x->z.avail_in && x->z.avail_out))
			break; /* input ended inside the stream */
		else if (zr != Z_OK)
			return -1;
	}
	return (long)(n - x->z.avail_out);
}

static int mem_exact(idxfile *x, unsigned char *p, size_t n, const char *what)
{
	long got = mem_read(x, p, n);
	if (got < 0)
		return thaw_error(THAW_EFORMAT, "%s: corrupt gzip data while reading %s (%s)", x->path, what,
				  x->z.msg ? x->z.msg : "inflate failed");
	if ((size_t)got != n)
		return thaw_error(THAW_EFORMAT, "%s: truncated file while reading %s", x->path, what);
	return 0;
}

static int read_exact(idxfile *x, void *buf, size_t n, const char *what)
{
	unsigned char *p = buf;
	if (x->buf)
		return mem_exact(x, p, n, what);
	while (n) {
		unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
		int got = gzread(x->f, p, chunk);
		if (got <= 0)
			return gzerr(x, what);
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

/* Opens the file at path, or the len bytes at data when data is not NULL
 * (path names them in messages), and checks the header. */
static int open_idx(idxfile *x, const char *path, const void *data, size_t len, int ndim_lo, int ndim_hi,
		    const char *kind)
{
	memset(x, 0, sizeof *x);
	x->path = path;
	uint64_t stored = 0, file_len = 0;
	int is_gz = 0, rc;
	if (data) {
		static const unsigned char none[1];
		x->buf = len ? data : none;
		x->len = len;
		file_len = stored = len;
		is_gz = x->is_gz = len >= 2 && x->buf[0] == 0x1f && x->buf[1] == 0x8b;
		if (is_gz) {
			if (len < 18)
				return thaw_error(THAW_EFORMAT, "%s: truncated gzip file (%zu bytes)", path, len);
			const unsigned char *t = x->buf + len - 4;
			stored = (uint64_t)t[0] | (uint64_t)t[1] << 8 | (uint64_t)t[2] << 16 | (uint64_t)t[3] << 24;
			if (inflateInit2(&x->z, 16 + MAX_WBITS) != Z_OK)
				return thaw_error(THAW_ENOMEM, "%s: cannot start inflating", path);
			x->zinit = 1;
			x->z.next_in = (Bytef *)x->buf;
			x->z.avail_in = len > UINT_MAX ? UINT_MAX : (uInt)len;
		}
	} else {
		if ((rc = stored_size(path, &stored, &file_len, &is_gz)) < 0)
			return rc;
		x->f = gzopen(path, "rb");
		if (!x->f)
			return thaw_error(THAW_EIO, "%s: cannot open: %s", path, strerror(errno));
		gzbuffer(x->f, 1 << 17);
	}
	unsigned char m[4];
	if (read_exact(x, m, 4, "the header") < 0)
		return THAW_EFORMAT;
	uint32_t magic = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
	if (m[0] || m[1] || m[3] < 1 || m[3] > 4)
		return thaw_error(THAW_EFORMAT,
				  "%s: bad magic number 0x%08x: not an IDX %s file (expected 0x0000080%d)",
				  path, magic, kind, ndim_lo);
	if (m[2] != 0x08)
		return thaw_error(THAW_EFORMAT,
				  "%s: IDX element type 0x%02x is not supported (only unsigned bytes, 0x08)",
				  path, m[2]);
	if (m[3] < ndim_lo || m[3] > ndim_hi)
		return thaw_error(THAW_EFORMAT, "%s: IDX file has %d dimensions; %s files have %d", path,
				  m[3], kind, ndim_lo);
	x->ndim = m[3];
	unsigned char d[16];
	if (read_exact(x, d, 4 * (size_t)x->ndim, "the dimensions") < 0)
		return THAW_EFORMAT;
	size_t count = 1;
	int overflow = 0;
	for (int i = 0; i < x->ndim; i++) {
		x->dim[i] = (uint32_t)d[4 * i] << 24 | (uint32_t)d[4 * i + 1] << 16 |
			    (uint32_t)d[4 * i + 2] << 8 | d[4 * i + 3];
		if (x->dim[i] > INT_MAX || __builtin_mul_overflow(count, (size_t)x->dim[i], &count))
			overflow = 1;
	}
	char dims[96];
	int off = 0;
	for (int i = 0; i < x->ndim; i++)
		off += snprintf(dims + off, sizeof dims - (size_t)off, "%s%u", i ? "x" : "", x->dim[i]);
	if (overflow || count > ((size_t)1 << 40))
		return thaw_error(THAW_EFORMAT, "%s: dimensions %s are too large (their product overflows)",
				  path, dims);
	for (int i = 0; i < x->ndim; i++)
		if (x->dim[i] == 0)
			return thaw_error(THAW_EFORMAT, "%s: dimensions %s: a dimension is zero", path, dims);
	x->count = count;
	uint64_t want = 4 + 4 * (uint64_t)x->ndim + count;
	/* ISIZE is the size modulo 2^32, so forged dimensions can match it
	 * while claiming gigabytes; deflate expands at most ~1032:1, which
	 * bounds what a gzip file of this length can hold. */
	if (is_gz && want > 1032 * (file_len + 64))
		return thaw_error(THAW_EFORMAT,
				  "%s: truncated or corrupt: dimensions %s need %llu bytes, more than a "
				  "%llu-byte gzip file can hold",
				  path, dims, (unsigned long long)want, (unsigned long long)file_len);
	if (is_gz ? (want & 0xffffffffu) != stored : want != stored) {
		if (!is_gz && stored < want)
			return thaw_error(THAW_EFORMAT,
					  "%s: truncated: dimensions %s need %llu bytes, the file has %llu",
					  path, dims, (unsigned long long)want, (unsigned long long)stored);
		if (!is_gz)
			return thaw_error(THAW_EFORMAT,
					  "%s: dimensions %s need %llu bytes, the file has %llu (trailing data)",
					  path, dims, (unsigned long long)want, (unsigned long long)stored);
		return thaw_error(THAW_EFORMAT,
				  "%s: truncated or corrupt: dimensions %s need %llu bytes, the gzip "
				  "trailer records %llu",
				  path, dims, (unsigned long long)want, (unsigned long long)stored);
	}
	return 0;
}

/* Reads one byte past the end: only that makes zlib check the CRC. */
static int check_end(idxfile *x)
{
	unsigned char b;
	if (x->buf) {
		long k = mem_read(x, &b, 1);
		if (k < 0)
			return thaw_error(THAW_EFORMAT, "%s: corrupt gzip data (%s)", x->path,
					  x->z.msg ? x->z.msg : "inflate failed");
		if (k > 0)
			return thaw_error(THAW_EFORMAT, "%s: trailing data after %zu values", x->path, x->count);
		if (x->is_gz && !x->zend)
			return thaw_error(THAW_EFORMAT, "%s: truncated gzip data (no end of stream)", x->path);
		return 0;
	}
	int got = gzread(x->f, &b, 1);
	if (got < 0)
		return gzerr(x, "the data");
	if (got > 0)
		return thaw_error(THAW_EFORMAT, "%s: trailing data after %zu values", x->path, x->count);
	int zerr;
	const char *m = skip_path(gzerror(x->f, &zerr), x->path);
	if (zerr != Z_OK && zerr != Z_STREAM_END)
		return thaw_error(THAW_EFORMAT, "%s: corrupt gzip data (%s)", x->path, m);
	return 0;
}

static void close_idx(idxfile *x)
{
	if (x->f)
		gzclose(x->f);
	x->f = NULL;
	if (x->zinit)
		inflateEnd(&x->z);
	x->zinit = 0;
}

/* Files when imd and lbd are NULL, else memory named by images, labels. */
static thaw_dataset *load(const char *images, const void *imd, size_t iml, const char *labels,
			  const void *lbd, size_t lbl, int n_classes)
{
	idxfile fi, fl;
	memset(&fi, 0, sizeof fi);
	memset(&fl, 0, sizeof fl);
	thaw_dataset *d = NULL;
	uint8_t *lab = NULL, *hwc = NULL;
	if (open_idx(&fi, images, imd, iml, 3, 4, "image") < 0)
		goto fail;
	if (open_idx(&fl, labels, lbd, lbl, 1, 1, "label") < 0)
		goto fail;
	int n = (int)fi.dim[0], h = (int)fi.dim[1], w = (int)fi.dim[2];
	int c = fi.ndim == 4 ? (int)fi.dim[3] : 1;
	if (c > THAW_MAX_CHANNELS) {
		thaw_error(THAW_EFORMAT, "%s: %d channels per pixel; at most %d are supported", images, c,
			   THAW_MAX_CHANNELS);
		goto fail;
	}
	if (fl.dim[0] != fi.dim[0]) {
		thaw_error(THAW_EFORMAT, "%s: %u labels, but %s has %u images", labels, fl.dim[0], images,
			   fi.dim[0]);
		goto fail;
	}
	lab = thaw_malloc((size_t)n);
	if (!lab || read_exact(&fl, lab, (size_t)n, "the labels") < 0 || check_end(&fl) < 0)
		goto fail;
	int maxl = 0;
	for (int i = 0; i < n; i++) {
		if (n_classes > 0 && lab[i] >= n_classes) {
			thaw_error(THAW_EFORMAT, "%s: label %d of image %d is out of range 0..%d", labels,
				   lab[i], i, n_classes - 1);
			goto fail;
		}
		if (lab[i] > maxl)
			maxl = lab[i];
	}
	d = thaw_dataset_new(n, c, h, w, n_classes > 0 ? n_classes : maxl + 1);
	if (!d) {
		thaw_error_prefix("%s", images);
		goto fail;
	}
	if (c == 1) {
		if (read_exact(&fi, d->x, fi.count, "the images") < 0)
			goto fail;
	} else {
		hwc = thaw_malloc(fi.count);
		if (!hwc || read_exact(&fi, hwc, fi.count, "the images") < 0)
			goto fail;
		size_t plane = (size_t)h * w;
		for (int i = 0; i < n; i++)
			for (int ch = 0; ch < c; ch++)
				for (size_t k = 0; k < plane; k++)
					d->x[((size_t)i * c + ch) * plane + k] =
						hwc[((size_t)i * plane + k) * c + ch];
	}
	if (check_end(&fi) < 0)
		goto fail;
	for (int i = 0; i < n; i++)
		d->y[i] = lab[i];
	snprintf(d->source, sizeof d->source, "%.250s", images);
	close_idx(&fi);
	close_idx(&fl);
	free(lab);
	free(hwc);
	return d;
fail:
	close_idx(&fi);
	close_idx(&fl);
	free(lab);
	free(hwc);
	thaw_dataset_free(d);
	return NULL;
}

thaw_dataset *thaw_idx_load(const char *images, const char *labels, int n_classes)
{
	if (!images || !labels) {
		thaw_error(THAW_EINVAL, "idx: no file name");
		return NULL;
	}
	return load(images, NULL, 0, labels, NULL, 0, n_classes);
}

thaw_dataset *thaw_idx_load_mem(const void *images, size_t images_len, const char *images_name,
				const void *labels, size_t labels_len, const char *labels_name, int n_classes)
{
	static const unsigned char none[1];
	return load(images_name ? images_name : "(images)", images ? images : none, images ? images_len : 0,
		    labels_name ? labels_name : "(labels)", labels ? labels : none, labels ? labels_len : 0,
		    n_classes);
}
