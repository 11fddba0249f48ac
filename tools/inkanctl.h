/* inkanctl.h — what inkanctl.c shares with its other parts (inkanctl-backup.c). */
#ifndef INKAN_TOOLS_INKANCTL_H
#define INKAN_TOOLS_INKANCTL_H

/* "inkanctl: MESSAGE" on stderr (stdout flushed first), exit(code). */
void ctl_die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
/* A daemon's executable for a one-shot mode: --bin-dir (bin_dir), else
 * $INKAN_BINDIR, else next to this program (and the meson build tree's
 * ../SUBDIR/), else an absolute $PATH entry, else /usr/sbin,
 * /usr/local/sbin. malloc'd; dies when none is found. */
char *ctl_find_daemon(const char *bin_dir, const char *name,
    const char *subdir);

#endif
