/* inkanctl-backup.h — `inkanctl backup create|restore` (issue 7 item 5). */
#ifndef INKAN_TOOLS_INKANCTL_BACKUP_H
#define INKAN_TOOLS_INKANCTL_BACKUP_H

/* argv[0] is "backup"; config: --config of inkanctl (or NULL: $INKAN_CONFIG);
 * socket: --socket (or NULL: so_socket of the config). Exit status. */
int inkanctl_backup(const char *config, const char *socket, int argc,
    char **argv);

#endif
