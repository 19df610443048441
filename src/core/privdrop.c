#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"
#include "strutil.h"

int privdrop_lookup(const char *user, struct run_identity *id_r, const char **error_r)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL) {
		*error_r = "no such user";
		return -1;
	}
	if (str_copy(id_r->user, sizeof(id_r->user), user) < 0) {
		*error_r = "user name too long";
		return -1;
	}
	id_r->uid = pw.pw_uid;
	id_r->gid = pw.pw_gid;
	id_r->extra_gid = 0;
	return 0;
}

bool privdrop_is_root(void)
{
	return geteuid() == 0;
}

void privdrop_become(const struct run_identity *id)
{
	if (privdrop_is_root()) {
		gid_t groups[2] = { id->gid, id->extra_gid };

		if (setgroups(id->extra_gid != 0 && id->extra_gid != id->gid ? 2 : 1, groups) < 0)
			fatal("setgroups(%lu): %s", (unsigned long)id->gid, strerror(errno));
		if (setresgid(id->gid, id->gid, id->gid) < 0)
			fatal("setresgid(%lu): %s", (unsigned long)id->gid, strerror(errno));
		if (setresuid(id->uid, id->uid, id->uid) < 0)
			fatal("setresuid(%lu): %s", (unsigned long)id->uid, strerror(errno));
		/* Changing all three uids away from 0 clears the permitted and effective capability
		   sets (capabilities(7)); prove that root is really gone. */
		if (id->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
			fatal("privilege drop to %s did not stick", id->user);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fatal("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
}
