/*
 * pcvfs: an SQLite VFS shim that can lose power. It wraps the default VFS,
 * passes every call through, and keeps beside each database, journal and
 * WAL file a model of what a disk would hold: the content as of the file's
 * last xSync, and the writes and truncations made since. Test code only.
 */
#ifndef IMGW_PCVFS_H
#define IMGW_PCVFS_H

#include <stdint.h>

/* What pcvfs_restore did, for the test's summary. */
struct pcvfs_stats {
	int	files;		/* files rebuilt */
	int	pending;	/* unsynced writes and truncations at the cut */
	int	landed;		/* of those, how many reached the disk (torn included) */
	int	torn;		/* writes that reached it only in part */
	int	subset;		/* 1: an arbitrary subset landed; 0: a prefix */
};

/* Register the shim as the default VFS, over the current default. 0 or -1. */
int		pcvfs_register(void);
/* Forget every file's model and the operation count (files must be gone). */
void		pcvfs_reset(void);
/* Lose power at the n-th write, sync or truncation counted (0: never). */
void		pcvfs_arm(uint64_t n);
/* Lose power now, between two operations. */
void		pcvfs_power_off(void);
/* Whether the power is off: writes, syncs and deletions then fail. */
int		pcvfs_off(void);
/* Writes, syncs and truncations counted since pcvfs_reset. */
uint64_t	pcvfs_ops(void);
/*
 * After every connection was closed: write each file as the power cut left
 * it (what was synced, plus a random prefix or subset of what was not, the
 * last of them torn), delete every shared-memory (-shm) file, and turn the
 * power back on with nothing armed. seed drives every choice. 0 or -1.
 */
int		pcvfs_restore(uint64_t seed, struct pcvfs_stats *);

#endif
