/*
 * pcvfs: an SQLite VFS shim that loses power on request, in the manner of
 * SQLite's own crash tests (src/test6.c). Reads, locks and shared memory go
 * to the real files untouched; writes go there too (the page cache) and
 * into a per-file model of the disk: the durable image, as of the last
 * xSync, and the log of what came after. Syncs reach no disk (the model is
 * the disk), which keeps hundreds of runs fast.
 *
 * The model of a power cut follows what SQLite assumes of a disk (the unix
 * VFS promises only SQLITE_IOCAP_POWERSAFE_OVERWRITE, which is all this
 * shim reports): what was synced stays; unsynced writes of a file may reach
 * the disk in any order or not at all; a write that was under way may be
 * torn, part of its bytes written and the sector at the tear holding
 * garbage, but never bytes outside its own range. File creation and
 * deletion count as durable at once (the unix VFS syncs the directory of a
 * new journal or WAL). Shared memory (-shm) is memory: it is gone.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "pcvfs.h"

#define PCVFS_MAX_FILES	16
#define PCVFS_SECTOR	512

enum { PCVFS_WRITE, PCVFS_TRUNCATE };

/* One unsynced change of a file. */
struct pcvfs_op {
	int		 kind;
	sqlite3_int64	 off;		/* where; for a truncation, the new size */
	int		 len;
	unsigned char	*data;
};

/* The disk's view of one file. */
struct pcvfs_image {
	char		*path;
	int		 exists;
	int		 main_db;	/* has a -shm beside it */
	unsigned char	*durable;	/* the content as of the last sync */
	sqlite3_int64	 size, cap;	/* bytes held, bytes allocated */
	struct pcvfs_op	*ops;		/* unsynced, in order */
	int		 nops, capops;
};

/* An open file: ours, then the real VFS's file right after it. */
struct pcvfs_file {
	sqlite3_file		 base;
	struct pcvfs_image	*img;	/* NULL: a temporary file, not modelled */
	sqlite3_file		*real;
};

static sqlite3_vfs		*pcvfs_real;
static struct pcvfs_image	 pcvfs_images[PCVFS_MAX_FILES];
static int			 pcvfs_nimages;
static uint64_t			 pcvfs_count;	/* operations counted */
static uint64_t			 pcvfs_cut;	/* the one that loses power */
static int			 pcvfs_dark;	/* the power is off */

/* splitmix64: the shim's only source of chance. */
static uint64_t
pcvfs_rand(uint64_t *state)
{
	uint64_t	 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Count one write, sync or truncation; 1 if it is the one that loses power. */
static int
pcvfs_tick(void)
{
	pcvfs_count++;
	if (pcvfs_cut != 0 && pcvfs_count >= pcvfs_cut) {
		pcvfs_dark = 1;
		return 1;
	}
	return 0;
}

/* Grow a buffer of *cap bytes to hold at least size (doubling). */
static int
pcvfs_grow(unsigned char **buf, sqlite3_int64 *cap, sqlite3_int64 size)
{
	unsigned char	*p;
	sqlite3_int64	 n = *cap > 0 ? *cap : 4096;

	if (size <= *cap)
		return 0;
	while (n < size)
		n *= 2;
	if ((p = realloc(*buf, (size_t)n)) == NULL)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

/*
 * Apply an op to buf (size *size, capacity *cap): all of it, or when torn,
 * its first bytes and perhaps garbage up to the end of the sector at the
 * tear. Returns 0 or -1 (out of memory).
 */
static int
pcvfs_apply(unsigned char **buf, sqlite3_int64 *size, sqlite3_int64 *cap,
    const struct pcvfs_op *op, int torn, uint64_t *rng)
{
	sqlite3_int64	 n = op->len, end;
	int		 garbage = 0, i;

	if (op->kind == PCVFS_TRUNCATE) {
		if (torn && pcvfs_rand(rng) % 2)
			return 0;
		if (pcvfs_grow(buf, cap, op->off) == -1)
			return -1;
		if (op->off > *size)
			memset(*buf + *size, 0, (size_t)(op->off - *size));
		*size = op->off;
		return 0;
	}
	if (torn) {
		n = (sqlite3_int64)(pcvfs_rand(rng) % (uint64_t)op->len);
		if (pcvfs_rand(rng) % 2)
			n -= n % PCVFS_SECTOR;
		garbage = pcvfs_rand(rng) % 2;
	}
	end = op->off + n;
	if (garbage) {
		end = op->off + (n / PCVFS_SECTOR + 1) * PCVFS_SECTOR;
		if (end > op->off + op->len)
			end = op->off + op->len;
	}
	if (end == op->off)
		return 0;
	if (pcvfs_grow(buf, cap, end) == -1)
		return -1;
	if (end > *size) {
		memset(*buf + *size, 0, (size_t)(end - *size));
		*size = end;
	}
	memcpy(*buf + op->off, op->data, (size_t)n);
	for (i = 0; op->off + n + i < end; i++)
		(*buf)[op->off + n + i] = (unsigned char)pcvfs_rand(rng);
	return 0;
}

/* Drop an image's unsynced log. */
static void
pcvfs_clear_ops(struct pcvfs_image *img)
{
	int	 i;

	for (i = 0; i < img->nops; i++)
		free(img->ops[i].data);
	img->nops = 0;
}

/* Record an unsynced change. Returns 0 or -1. */
static int
pcvfs_log(struct pcvfs_image *img, int kind, sqlite3_int64 off,
    const void *data, int len)
{
	struct pcvfs_op	*op;

	if (img->nops == img->capops) {
		int n = img->capops ? img->capops * 2 : 64;

		if ((op = realloc(img->ops, (size_t)n * sizeof *op)) == NULL)
			return -1;
		img->ops = op;
		img->capops = n;
	}
	op = &img->ops[img->nops];
	op->kind = kind;
	op->off = off;
	op->len = len;
	op->data = NULL;
	if (len > 0) {
		if ((op->data = malloc((size_t)len)) == NULL)
			return -1;
		memcpy(op->data, data, (size_t)len);
	}
	img->nops++;
	return 0;
}

/* The image of path, made (from the real file's content) if new. */
static struct pcvfs_image *
pcvfs_image(const char *path, sqlite3_file *real)
{
	struct pcvfs_image	*img;
	sqlite3_int64		 size = 0;
	int			 i;

	for (i = 0; i < pcvfs_nimages; i++) {
		if (strcmp(pcvfs_images[i].path, path) == 0) {
			img = &pcvfs_images[i];
			if (!img->exists) {
				img->exists = 1;
				img->size = 0;
			}
			return img;
		}
	}
	if (pcvfs_nimages == PCVFS_MAX_FILES)
		return NULL;
	img = &pcvfs_images[pcvfs_nimages];
	memset(img, 0, sizeof *img);
	if ((img->path = strdup(path)) == NULL)
		return NULL;
	/* A file that was there before: what it holds now is on the disk. */
	if (real->pMethods->xFileSize(real, &size) != SQLITE_OK)
		size = 0;
	if (size > 0) {
		if (pcvfs_grow(&img->durable, &img->cap, size) == -1 ||
		    real->pMethods->xRead(real, img->durable, (int)size, 0) !=
		    SQLITE_OK) {
			free(img->path);
			free(img->durable);
			return NULL;
		}
	}
	img->size = size;
	img->exists = 1;
	pcvfs_nimages++;
	return img;
}

/* ---- the file methods ---- */

static int
pcvfs_close(sqlite3_file *f)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;

	return p->real->pMethods->xClose(p->real);
}

static int
pcvfs_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;

	return p->real->pMethods->xRead(p->real, buf, n, off);
}

static int
pcvfs_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;

	if (pcvfs_dark)
		return SQLITE_IOERR_WRITE;
	if (p->img == NULL)
		return p->real->pMethods->xWrite(p->real, buf, n, off);
	if (pcvfs_log(p->img, PCVFS_WRITE, off, buf, n) == -1)
		return SQLITE_IOERR_NOMEM;
	/* The write that was under way when the power went: it may be torn. */
	if (pcvfs_tick())
		return SQLITE_IOERR_WRITE;
	return p->real->pMethods->xWrite(p->real, buf, n, off);
}

static int
pcvfs_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;

	if (pcvfs_dark)
		return SQLITE_IOERR_TRUNCATE;
	if (p->img == NULL)
		return p->real->pMethods->xTruncate(p->real, size);
	if (pcvfs_log(p->img, PCVFS_TRUNCATE, size, NULL, 0) == -1)
		return SQLITE_IOERR_NOMEM;
	if (pcvfs_tick())
		return SQLITE_IOERR_TRUNCATE;
	return p->real->pMethods->xTruncate(p->real, size);
}

/* Make the file's log durable: the model's fsync. The real disk is not asked. */
static int
pcvfs_sync(sqlite3_file *f, int flags)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;
	struct pcvfs_image	*img = p->img;
	uint64_t		 none = 0;
	int			 i;

	if (pcvfs_dark)
		return SQLITE_IOERR_FSYNC;
	if (img == NULL)
		return SQLITE_OK;
	/* A sync the power cut interrupts has made nothing durable. */
	if (pcvfs_tick())
		return SQLITE_IOERR_FSYNC;
	for (i = 0; i < img->nops; i++) {
		if (pcvfs_apply(&img->durable, &img->size, &img->cap, &img->ops[i], 0,
		    &none) == -1)
			return SQLITE_IOERR_NOMEM;
	}
	pcvfs_clear_ops(img);
	return SQLITE_OK;
}

static int
pcvfs_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;

	return p->real->pMethods->xFileSize(p->real, size);
}

static int
pcvfs_lock(sqlite3_file *f, int level)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;

	return p->real->pMethods->xLock(p->real, level);
}

static int
pcvfs_unlock(sqlite3_file *f, int level)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;

	return p->real->pMethods->xUnlock(p->real, level);
}

static int
pcvfs_check_reserved(sqlite3_file *f, int *out)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;

	return p->real->pMethods->xCheckReservedLock(p->real, out);
}

static int
pcvfs_file_control(sqlite3_file *f, int op, void *arg)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;

	/* The unix VFS may extend a file by writing behind our back. */
	if (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_CHUNK_SIZE)
		return SQLITE_NOTFOUND;
	return p->real->pMethods->xFileControl(p->real, op, arg);
}

static int
pcvfs_sector_size(sqlite3_file *f)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;

	return p->real->pMethods->xSectorSize(p->real);
}

/* Only what the model honours: a write never harms bytes outside its range. */
static int
pcvfs_device(sqlite3_file *f)
{
	return SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}

static int
pcvfs_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;

	return p->real->pMethods->xShmMap(p->real, pg, pgsz, extend, pp);
}

static int
pcvfs_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;

	return p->real->pMethods->xShmLock(p->real, off, n, flags);
}

static void
pcvfs_shm_barrier(sqlite3_file *f)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;

	p->real->pMethods->xShmBarrier(p->real);
}

static int
pcvfs_shm_unmap(sqlite3_file *f, int delete)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;

	return p->real->pMethods->xShmUnmap(p->real, delete);
}

/* Version 2: shared memory for WAL, no memory-mapped reads (xFetch). */
static const sqlite3_io_methods pcvfs_io = {
	2,
	pcvfs_close, pcvfs_read, pcvfs_write, pcvfs_truncate, pcvfs_sync,
	pcvfs_file_size, pcvfs_lock, pcvfs_unlock, pcvfs_check_reserved,
	pcvfs_file_control, pcvfs_sector_size, pcvfs_device,
	pcvfs_shm_map, pcvfs_shm_lock, pcvfs_shm_barrier, pcvfs_shm_unmap,
	NULL, NULL
};

/* ---- the VFS methods ---- */

static int
pcvfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *out_flags)
{
	struct pcvfs_file	*p = (struct pcvfs_file *)f;
	int			 rc;

	p->base.pMethods = NULL;
	p->img = NULL;
	p->real = (sqlite3_file *)(p + 1);
	rc = pcvfs_real->xOpen(pcvfs_real, name, p->real, flags, out_flags);
	if (rc != SQLITE_OK)
		return rc;
	if (name != NULL && (flags & (SQLITE_OPEN_MAIN_DB |
	    SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_WAL |
	    SQLITE_OPEN_SUPER_JOURNAL)) != 0) {
		if ((p->img = pcvfs_image(name, p->real)) == NULL) {
			p->real->pMethods->xClose(p->real);
			return SQLITE_CANTOPEN;
		}
		if (flags & SQLITE_OPEN_MAIN_DB)
			p->img->main_db = 1;
	}
	p->base.pMethods = &pcvfs_io;
	return SQLITE_OK;
}

/* Deleting a file is durable at once (see the top of this file). */
static int
pcvfs_delete(sqlite3_vfs *vfs, const char *name, int dirsync)
{
	int	 i, rc;

	if (pcvfs_dark)
		return SQLITE_IOERR_DELETE;
	rc = pcvfs_real->xDelete(pcvfs_real, name, dirsync);
	for (i = 0; i < pcvfs_nimages; i++) {
		if (strcmp(pcvfs_images[i].path, name) == 0) {
			pcvfs_clear_ops(&pcvfs_images[i]);
			pcvfs_images[i].exists = 0;
			pcvfs_images[i].size = 0;
		}
	}
	return rc;
}

static int
pcvfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return pcvfs_real->xAccess(pcvfs_real, name, flags, out);
}

static int
pcvfs_full_path(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return pcvfs_real->xFullPathname(pcvfs_real, name, n, out);
}

static void *
pcvfs_dlopen(sqlite3_vfs *vfs, const char *name)
{
	return pcvfs_real->xDlOpen(pcvfs_real, name);
}

static void
pcvfs_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
	pcvfs_real->xDlError(pcvfs_real, n, out);
}

static void
(*pcvfs_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	return pcvfs_real->xDlSym(pcvfs_real, h, sym);
}

static void
pcvfs_dlclose(sqlite3_vfs *vfs, void *h)
{
	pcvfs_real->xDlClose(pcvfs_real, h);
}

static int
pcvfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return pcvfs_real->xRandomness(pcvfs_real, n, out);
}

static int
pcvfs_sleep(sqlite3_vfs *vfs, int us)
{
	return pcvfs_real->xSleep(pcvfs_real, us);
}

static int
pcvfs_current_time(sqlite3_vfs *vfs, double *out)
{
	return pcvfs_real->xCurrentTime(pcvfs_real, out);
}

static int
pcvfs_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return pcvfs_real->xGetLastError(pcvfs_real, n, out);
}

static int
pcvfs_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return pcvfs_real->xCurrentTimeInt64(pcvfs_real, out);
}

static sqlite3_vfs pcvfs_vfs = {
	2, 0, 0, NULL, "pcvfs", NULL,
	pcvfs_open, pcvfs_delete, pcvfs_access, pcvfs_full_path,
	pcvfs_dlopen, pcvfs_dlerror, pcvfs_dlsym, pcvfs_dlclose,
	pcvfs_randomness, pcvfs_sleep, pcvfs_current_time, pcvfs_last_error,
	pcvfs_current_time64, NULL, NULL, NULL
};

/* Register the shim as the default VFS. */
int
pcvfs_register(void)
{
	if ((pcvfs_real = sqlite3_vfs_find(NULL)) == NULL || pcvfs_real->iVersion < 2)
		return -1;
	pcvfs_vfs.szOsFile = (int)sizeof(struct pcvfs_file) + pcvfs_real->szOsFile;
	pcvfs_vfs.mxPathname = pcvfs_real->mxPathname;
	return sqlite3_vfs_register(&pcvfs_vfs, 1) == SQLITE_OK ? 0 : -1;
}

/* Forget every model. */
void
pcvfs_reset(void)
{
	int	 i;

	for (i = 0; i < pcvfs_nimages; i++) {
		pcvfs_clear_ops(&pcvfs_images[i]);
		free(pcvfs_images[i].ops);
		free(pcvfs_images[i].durable);
		free(pcvfs_images[i].path);
	}
	pcvfs_nimages = 0;
	pcvfs_count = 0;
	pcvfs_cut = 0;
	pcvfs_dark = 0;
}

void
pcvfs_arm(uint64_t n)
{
	pcvfs_cut = n;
}

void
pcvfs_power_off(void)
{
	pcvfs_dark = 1;
}

int
pcvfs_off(void)
{
	return pcvfs_dark;
}

uint64_t
pcvfs_ops(void)
{
	return pcvfs_count;
}

/* Write buf[0..n) as the whole content of path. */
static int
pcvfs_put(const char *path, const unsigned char *buf, sqlite3_int64 n)
{
	sqlite3_int64	 off = 0;
	ssize_t		 w;
	int		 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		return -1;
	while (off < n) {
		if ((w = write(fd, buf + off, (size_t)(n - off))) <= 0) {
			close(fd);
			return -1;
		}
		off += w;
	}
	return close(fd);
}

/*
 * Build what the disk holds after the cut. Either a prefix of each file's
 * unsynced log landed, in order, the next one torn; or each change landed,
 * or not, or in part, independently (a disk reorders what it was not told
 * to flush).
 */
int
pcvfs_restore(uint64_t seed, struct pcvfs_stats *st)
{
	struct pcvfs_image	*img;
	unsigned char		*buf = NULL;
	sqlite3_int64		 size, cap;
	uint64_t		 rng = seed;
	char			 shm[1100];
	int			 i, j, k, r;

	memset(st, 0, sizeof *st);
	st->subset = (int)(pcvfs_rand(&rng) % 2);
	for (i = 0; i < pcvfs_nimages; i++) {
		img = &pcvfs_images[i];
		if (img->main_db) {
			snprintf(shm, sizeof shm, "%s-shm", img->path);
			unlink(shm);
		}
		if (!img->exists) {
			unlink(img->path);
			continue;
		}
		st->files++;
		st->pending += img->nops;
		size = img->size;
		cap = size > 0 ? size : 1;
		if ((buf = malloc((size_t)cap)) == NULL)
			return -1;
		if (size > 0)
			memcpy(buf, img->durable, (size_t)size);
		k = (int)(pcvfs_rand(&rng) % (uint64_t)(img->nops + 1));
		for (j = 0; j < img->nops; j++) {
			if (st->subset)
				r = (int)(pcvfs_rand(&rng) % 4);	/* 0: lost, 3: torn */
			else
				r = j < k ? 1 : j == k ? 3 : 0;
			if (r == 0)
				continue;
			st->landed++;
			st->torn += r == 3 && img->ops[j].kind == PCVFS_WRITE;
			if (pcvfs_apply(&buf, &size, &cap, &img->ops[j], r == 3,
			    &rng) == -1)
				goto fail;
		}
		if (pcvfs_put(img->path, buf, size) == -1)
			goto fail;
		free(img->durable);
		img->durable = buf;
		img->size = size;
		img->cap = cap;
		buf = NULL;
		pcvfs_clear_ops(img);
	}
	pcvfs_count = 0;
	pcvfs_cut = 0;
	pcvfs_dark = 0;
	return 0;
fail:
	free(buf);
	return -1;
}
