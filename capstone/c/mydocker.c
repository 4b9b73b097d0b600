// mydocker.c: `docker run` in C, the capstone's runtime (capstone/INTERFACE.md).
//
// It is made of the system calls the lessons taught: clone() with the namespace flags, mount,
// pivot_root, the cgroup files and sethostname. Build it, and run it as root:
//
//   cc -O2 -Wall -o mydocker mydocker.c
//   sudo ./mydocker run [--name N] [--hostname H] [--cpus C] [--memory M] [--pids P]
//                       [--ip ADDR/PREFIX] IMAGE CMD [ARG...]
//
// IMAGE is an image imported into the lab's layer store (lesson 7: `container-lessons import`).
// The environment says where things are:
//   CONTAINER_LESSONS_HOME  the lab: its layers/, images/ and the containers' own directories
//                           (default: ~/container-lessons of the user who ran sudo)
//   MYDOCKER_BRIDGE         with --ip: the bridge to plug the container into (lesson 6's)
//   MYDOCKER_GATEWAY        with --ip: the bridge's address, the container's default route
// mydocker exits with CMD's code (128+n when CMD dies of signal n), and 125 when it could not
// start the container; SIGINT or SIGTERM is passed on to the container (and SIGKILL follows
// 2 s later: PID 1 ignores the signals it has no handler for). When mydocker has exited,
// nothing of the container is left.
//
// How it runs: two processes.
//
//   mydocker run     this program, on the host: checks the arguments, makes the container's
//    |               directories and cgroup, clone()s the container, plugs in the network,
//    |               tells the container to go on, waits, forwards signals, cleans up
//    +- PID 1        the clone() child, born in new mnt, uts, ipc, pid, net and cgroup
//                    namespaces (as the seed's container_main): waits for the go, mounts the
//                    overlay, /proc and /dev, pivot_root, sethostname, then execvp CMD
//
// Each piece a lesson taught sits between a line "// --- BEGIN <piece> (<lessons>) ---" and a
// line "// --- END <piece> ---". Its lines starting with `// ##` say what it must do and where
// the kernel shows it done. capstone/skeleton/mydocker.c is this file with every piece but args
// emptied (made by scripts/capstone-skeleton.mjs): the learner's starting point.
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <regex.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

// The skeleton leaves some helpers and variables unused until its pieces are written.
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"
// Paths are built with snprintf into PATH_MAX buffers; lab_dir() refuses a lab path long enough
// to be cut short, so the compiler's warnings about what could be are not needed.
#pragma GCC diagnostic ignored "-Wformat-truncation"

// The CFS period: --cpus C is a quota of C periods in every period (lesson 2).
#define PERIOD 100000
#define CGROUP2_SUPER_MAGIC 0x63677270 // statfs's f_type of a cgroup2 file system
#define MAX_GROUPS 3

// What the pieces hand to each other.
static char lab[PATH_MAX];            // the lab: $CONTAINER_LESSONS_HOME
static char name[80];                 // --name
static char host[80];                 // --hostname (default: the name)
static long long cpu_quota;           // --cpus, as microseconds per PERIOD (0: none)
static long long memory_bytes;        // --memory, in bytes (0: none)
static long long pids_max;            // --pids (0: none)
static char ip[32];                   // --ip ADDR/PREFIX
static char bridge[64];               // $MYDOCKER_BRIDGE
static char gateway[32];              // $MYDOCKER_GATEWAY
static char image[256];               // the image's name
static char image_top[65];            // the directory name of the image's top layer in $lab/layers
static char **cmd;                    // the command and its arguments
static char cdir[PATH_MAX];           // the container's directory: $lab/containers/$name
static int cdir_made;                 // 1 once this run made cdir (only then does cleanup remove it)
static char lowerdirs[16384];         // the overlay's lowerdir=, top first
static char cgroup_dirs[MAX_GROUPS][PATH_MAX]; // the cgroup directories made for the container
static int n_cgroup_dirs;
static char own_groups[MAX_GROUPS][PATH_MAX];  // this program's own group in each of their hierarchies
static int clone_flags;               // the namespaces the container gets
static char veth[16];                 // the host's end of the container's veth pair
static volatile pid_t container_pid;  // the clone() child: PID 1 of the container
static int ready[2];                  // a pipe: the host writes "go" once the network is made
static int in_container;              // 1 in the clone() child: die() leaves the cleanup to the host
static volatile sig_atomic_t pending_signal; // SIGINT/SIGTERM that came before the container
static char todo_said[128];           // the pieces a TODO note was printed for
static int todo_stop;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("mydocker: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(125); // on the host, at_exit() stops the container and cleans up
}

// An open piece of the skeleton calls todo. root and namespaces cannot be left out: without them
// CMD would run in the host's own root directory and namespaces, so the runtime stops there with
// exit 125. The other pieces are skipped with a one-line note, and the container runs without
// them: the conformance suite then fails exactly the checks of what is missing.
static void todo(const char *piece, const char *lessons) {
  if (!strcmp(piece, "root") || !strcmp(piece, "namespaces")) {
    todo_stop = 1; // the runtime stops here: no more notes on the way out
    die("TODO: %s (%s) is not written yet", piece, lessons);
  }
  char key[40];
  snprintf(key, sizeof key, " %s ", piece);
  if (todo_stop || in_container || strstr(todo_said, key)) return;
  snprintf(todo_said + strlen(todo_said), sizeof todo_said - strlen(todo_said), "%s", key);
  fprintf(stderr, "mydocker: TODO: %s (%s) is not written yet: skipped\n", piece, lessons);
}

static void usage(FILE *to) {
  fputs("usage: mydocker run [--name N] [--hostname H] [--cpus C] [--memory M] [--pids P]\n"
        "                    [--ip ADDR/PREFIX] IMAGE CMD [ARG...]\n"
        "  --name N        a name of its own among running containers (default: mydocker-<pid>)\n"
        "  --hostname H    its hostname (default: its name)\n"
        "  --cpus C        at most C CPUs (a quota of C x 100000 us per 100000 us, lesson 2)\n"
        "  --memory M      at most M bytes of memory, no swap (k, m, g allowed: 64m; lesson 8)\n"
        "  --pids P        at most P processes and threads (lesson 8)\n"
        "  --ip ADDR/PRE   eth0 with that address on $MYDOCKER_BRIDGE, default route via\n"
        "                  $MYDOCKER_GATEWAY (lesson 6)\n"
        "IMAGE is an image of the lab's layer store ($CONTAINER_LESSONS_HOME/images/IMAGE.json).\n",
        to);
}

// --- small helpers: files, regular expressions, commands ---

// Whether `s` matches the extended regular expression `re` (anchored by the caller).
static int matches(const char *s, const char *re) {
  regex_t r;
  if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB)) return 0;
  int ok = regexec(&r, s, 0, NULL, 0) == 0;
  regfree(&r);
  return ok;
}

// The whole of a small file, without its trailing newline; NULL if it cannot be read.
static char *read_text(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  static char buf[65536];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = 0;
  return strdup(buf);
}

// Write `value` to a file (a cgroup file: one write, as echo does). 0 on success.
static int write_text(const char *path, const char *value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, value, strlen(value));
  int saved = errno;
  close(fd);
  errno = saved;
  return n == (ssize_t)strlen(value) ? 0 : -1;
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

// An IPv4 address: four numbers up to 255.
static int is_ipv4(const char *s) {
  if (!matches(s, "^[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}$")) return 0;
  int a, b, c, d;
  return sscanf(s, "%d.%d.%d.%d", &a, &b, &c, &d) == 4 && a <= 255 && b <= 255 && c <= 255 && d <= 255;
}

// Run a command of the host (`ip`) and wait for it; with netns_of > 0, in the network namespace
// of that process (setns, as nsenter -n does). Like runc's hooks and the CNI plugins, mydocker
// leaves the netlink messages to iproute2: lesson 6 taught these same `ip` commands. 0 if it
// exited 0.
static int run_cmd(pid_t netns_of, char *const argv[]) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (netns_of > 0) {
      char path[64];
      snprintf(path, sizeof path, "/proc/%d/ns/net", (int)netns_of);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
        fprintf(stderr, "mydocker: cannot enter %s: %s\n", path, strerror(errno));
        _exit(127);
      }
    }
    execvp(argv[0], argv);
    fprintf(stderr, "mydocker: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

// rm -rf --one-file-system, for the container's directory.
static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)ftw;
  if (type == FTW_DP) return rmdir(path) < 0 ? -1 : 0;
  return unlink(path) < 0 ? -1 : 0;
}
static int remove_tree(const char *path) {
  return nftw(path, remove_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

// The lab, as the workbook finds it: CONTAINER_LESSONS_HOME, or the home of the user who ran
// sudo, or this user's home.
static void lab_dir(void) {
  const char *home = getenv("CONTAINER_LESSONS_HOME");
  const char *sudo_user = getenv("SUDO_USER");
  struct passwd *pw;
  if (home && *home) snprintf(lab, sizeof lab, "%s", home);
  else if (sudo_user && *sudo_user && strcmp(sudo_user, "root") && (pw = getpwnam(sudo_user)))
    snprintf(lab, sizeof lab, "%s/container-lessons", pw->pw_dir);
  else snprintf(lab, sizeof lab, "%s/container-lessons", getenv("HOME") ? getenv("HOME") : "/root");
  if (strlen(lab) > 1024) die("the lab's path is longer than 1024 characters: %.40s...", lab);
}

// The number of CPUs this process may run on, as nproc counts them.
static int cpus_here(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

// Read `run`'s options and check every one of them before anything is made: a bad argument
// touches nothing.
static void parse_args(int argc, char **argv) {
  // --- BEGIN args (given) ---
  int i = 0;
  while (i < argc) {
    const char *arg = argv[i], *value;
    char opt[16];
    const char *eq = strchr(arg, '=');
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) usage(stdout), exit(0);
    if (!strcmp(arg, "--")) { i++; break; }
    if (arg[0] != '-') break;
    if (!matches(arg, "^--(name|hostname|cpus|memory|pids|ip)(=.*)?$"))
      die("unknown option %s (mydocker --help lists them)", arg);
    if (eq) {
      snprintf(opt, sizeof opt, "%.*s", (int)(eq - arg), arg);
      value = eq + 1;
      i++;
    } else {
      if (i + 1 >= argc) die("%s needs a value", arg);
      snprintf(opt, sizeof opt, "%s", arg);
      value = argv[i + 1];
      i += 2;
    }
    if (!strcmp(opt, "--name")) snprintf(name, sizeof name, "%.79s", value);
    else if (!strcmp(opt, "--hostname")) snprintf(host, sizeof host, "%.79s", value);
    else if (!strcmp(opt, "--ip")) snprintf(ip, sizeof ip, "%.31s", value);
    else if (!strcmp(opt, "--pids")) {
      if (!matches(value, "^[1-9][0-9]{0,8}$")) die("--pids %s: not a number of processes (such as 32)", value);
      pids_max = atoll(value);
    } else if (!strcmp(opt, "--cpus")) {
      // A decimal number, in whole microseconds of quota: 0.2 -> 20000.
      if (!matches(value, "[0-9]") || !matches(value, "^[0-9]{0,6}(\\.[0-9]*)?$"))
        die("--cpus %s: not a number of CPUs (such as 0.5)", value);
      long long whole = atoll(value);
      const char *dot = strchr(value, '.');
      char fraction[6] = "00000";
      if (dot) memcpy(fraction, dot + 1, strnlen(dot + 1, 5));
      cpu_quota = whole * PERIOD + atoll(fraction);
      int cpus = cpus_here();
      if (cpu_quota < 1000 || cpu_quota > (long long)cpus * PERIOD)
        die("--cpus %s: the range of CPUs is from 0.01 to %d.00 (%d CPUs here)", value, cpus, cpus);
    } else if (!strcmp(opt, "--memory")) {
      if (!matches(value, "^[0-9]{1,12}[bkmgBKMG]?$"))
        die("--memory %s: not an amount of memory (such as 64m: bytes, or k, m, g)", value);
      char *unit;
      memory_bytes = strtoll(value, &unit, 10);
      switch (tolower((unsigned char)*unit)) {
        case 'k': memory_bytes *= 1024; break;
        case 'm': memory_bytes *= 1024 * 1024; break;
        case 'g': memory_bytes *= 1024LL * 1024 * 1024; break;
      }
      // As docker run: less than this cannot even start the container's first process.
      if (memory_bytes < 6 * 1024 * 1024) die("--memory %s: the minimum is 6m", value);
    }
  }
  if (i >= argc) die("no IMAGE given (usage: mydocker run [OPTIONS] IMAGE CMD [ARG...])");
  snprintf(image, sizeof image, "%.255s", argv[i++]);
  if (i >= argc) die("no command given (usage: mydocker run [OPTIONS] IMAGE CMD [ARG...])");
  cmd = &argv[i];

  if (geteuid() != 0) die("run me as root (sudo): mounts, namespaces and cgroups need it");
  lab_dir();
  if (!*name) snprintf(name, sizeof name, "mydocker-%d", (int)getpid());
  if (!*host) snprintf(host, sizeof host, "%s", name);
  if (!matches(name, "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"))
    die("--name %s: letters, digits, _ . - only (up to 64), starting with a letter or digit", name);
  if (!matches(host, "^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$"))
    die("--hostname %s: letters, digits, . - only (up to 64), starting with a letter or digit", host);
  if (*ip) {
    char address[32];
    const char *slash = strchr(ip, '/');
    snprintf(address, sizeof address, "%.*s", slash ? (int)(slash - ip) : 0, ip);
    if (!slash || !is_ipv4(address) || !matches(slash + 1, "^[0-9]{1,2}$") || atoi(slash + 1) < 1 || atoi(slash + 1) > 32)
      die("--ip %s: not an IPv4 address with a prefix length (such as 10.0.0.2/24)", ip);
    const char *b = getenv("MYDOCKER_BRIDGE"), *g = getenv("MYDOCKER_GATEWAY");
    snprintf(bridge, sizeof bridge, "%.63s", b ? b : "");
    snprintf(gateway, sizeof gateway, "%.31s", g ? g : "");
    char path[PATH_MAX];
    if (!*bridge) die("--ip needs MYDOCKER_BRIDGE: the bridge to plug the container into (lesson 6)");
    snprintf(path, sizeof path, "/sys/class/net/%s/bridge", bridge);
    if (strchr(bridge, '/') || !is_dir(path)) die("MYDOCKER_BRIDGE=%s: no such bridge on this host (lesson 6 makes one)", bridge);
    if (!is_ipv4(gateway)) die("--ip needs MYDOCKER_GATEWAY: the bridge's IPv4 address (now '%s')", gateway);
  }

  // The image: images/<IMAGE>.json names its top layer ("top": the layer's directory).
  char record[PATH_MAX], path[PATH_MAX];
  snprintf(record, sizeof record, "%s/images/%s.json", lab, image);
  char *json = matches(image, "^[A-Za-z0-9_-][A-Za-z0-9._-]*$") ? read_text(record) : NULL;
  if (!json) die("no image '%s' in %s/images (import one: container-lessons import)", image, lab);
  regex_t top;
  regmatch_t m[2];
  regcomp(&top, "\"top\": *\"([0-9a-f]{64})\"", REG_EXTENDED);
  if (regexec(&top, json, 2, m, 0)) die("%s names no top layer", record);
  snprintf(image_top, sizeof image_top, "%.64s", json + m[1].rm_so);
  regfree(&top);
  free(json);
  snprintf(path, sizeof path, "%s/layers/%s/link", lab, image_top);
  if (access(path, F_OK)) die("image '%s': its top layer %s is not in %s/layers", image, image_top, lab);

  snprintf(cdir, sizeof cdir, "%s/containers/%s", lab, name);
  if (access(cdir, F_OK) == 0) die("--name %s: a container of that name is running (or %s was left behind)", name, cdir);
  // --- END args ---
}

// The container's root filesystem, part 1 (on the host): the image's layers, and the
// container's own directories.
static void prepare_root(void) {
  // --- BEGIN root (lesson 7) ---
  // ## Find the image's layers in $lab/layers and make the container's directories.
  // ## lowerdir= lists the image's top layer first ($lab/layers/l/ + the top layer's link
  // ## file), then the layers its lower file names (l/<short>:l/<short>..., nearest first).
  // ## Claim the name with mkdir(cdir) (it fails if another container has it), set
  // ## cdir_made = 1, and make cdir/upper, cdir/work and cdir/merged.
  // ## Done when: the container's /proc/<pid>/mountinfo shows / as an overlay with these
  // ## lowerdirs and upperdir=cdir/upper.
  char path[PATH_MAX], *link, *lower;
  snprintf(path, sizeof path, "%s/layers/%s/link", lab, image_top);
  if (!(link = read_text(path))) die("cannot read the top layer's link");
  snprintf(lowerdirs, sizeof lowerdirs, "%s/layers/l/%s", lab, link);
  free(link);
  snprintf(path, sizeof path, "%s/layers/%s/lower", lab, image_top);
  if ((lower = read_text(path))) {
    for (char *save, *entry = strtok_r(lower, ":", &save); entry; entry = strtok_r(NULL, ":", &save))
      snprintf(lowerdirs + strlen(lowerdirs), sizeof lowerdirs - strlen(lowerdirs), ":%s/layers/%s", lab, entry);
    free(lower);
  }
  snprintf(path, sizeof path, "%s/containers", lab);
  if (mkdir(path, 0755) < 0 && errno != EEXIST) die("cannot make %s: %s", path, strerror(errno));
  if (mkdir(cdir, 0700) < 0) die("--name %s: a container of that name is running", name);
  cdir_made = 1;
  const char *own[] = {"upper", "work", "merged"};
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", cdir, own[i]);
    if (mkdir(path, 0755) < 0) die("cannot make %s: %s", path, strerror(errno));
  }
  // --- END root ---
}

// The container's root filesystem, part 2 (in the container's new mount namespace): the
// overlay. Mounted there, it goes away with the namespace: no mount on the host to forget.
static void mount_root(void) {
  // --- BEGIN root (lesson 7) ---
  // ## Mount the overlay at cdir/merged: lowerdir=lowerdirs, upperdir=cdir/upper,
  // ## workdir=cdir/work (lessons 1 and 7). The image's layers are only read; every write of
  // ## the container lands in upper.
  // ## Done when: /proc/<pid>/mountinfo (the container's) shows / as that overlay.
  char options[sizeof lowerdirs + 2 * PATH_MAX], merged[PATH_MAX];
  snprintf(options, sizeof options, "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", lowerdirs, cdir, cdir);
  snprintf(merged, sizeof merged, "%s/merged", cdir);
  if (mount("overlay", merged, "overlay", 0, options) < 0) die("cannot mount the overlay at %s: %s", merged, strerror(errno));
  // --- END root ---
}

// The container's cgroup: made on the host before the container starts, with its limits.
static void make_cgroup(void) {
  // --- BEGIN cgroup (lessons 2, 8) ---
  // ## Make a cgroup of the container's own and write its limits; add each directory made to
  // ## cgroup_dirs (join_cgroup puts the container in them, cleanup removes them).
  // ## Which kind of machine: statfs("/sys/fs/cgroup") says CGROUP2_SUPER_MAGIC on v2, tmpfs
  // ## on v1 or hybrid (lesson 2). v2: one directory; enable cpu, memory, pids in the parent's
  // ## cgroup.subtree_control; cpu.max "QUOTA PERIOD", memory.max, memory.swap.max 0, pids.max.
  // ## v1 and hybrid: one directory per controller (/sys/fs/cgroup/cpu, memory, pids);
  // ## cpu.cfs_period_us and cpu.cfs_quota_us, memory.limit_in_bytes (and
  // ## memory.memsw.limit_in_bytes, the same: no swap), pids.max (lesson 8).
  // ## Done when: /proc/<pid>/cgroup of the container names the group, and its files hold
  // ## the limits.
  struct statfs fs;
  char g[PATH_MAX], file[PATH_MAX + 32], value[64];
  if (statfs("/sys/fs/cgroup", &fs) < 0) die("cannot read /sys/fs/cgroup: %s", strerror(errno));
#define WRITE(dir, leaf, ...) \
  (snprintf(file, sizeof file, "%s/%s", dir, leaf), snprintf(value, sizeof value, __VA_ARGS__), \
   write_text(file, value) < 0 ? die("cannot write %s: %s", file, strerror(errno)) : (void)0)
  if (fs.f_type == CGROUP2_SUPER_MAGIC) {
    // v2: the controllers the limits need, enabled for the root's children. They stay on
    // afterwards (as lesson 2 leaves +cpu): another container may be using them.
    const char *wanted[] = {cpu_quota ? "+cpu" : NULL, memory_bytes ? "+memory" : NULL, pids_max ? "+pids" : NULL};
    for (int i = 0; i < 3; i++)
      if (wanted[i] && write_text("/sys/fs/cgroup/cgroup.subtree_control", wanted[i]) < 0)
        die("cannot enable the %s controller in /sys/fs/cgroup/cgroup.subtree_control: %s", wanted[i] + 1, strerror(errno));
    snprintf(g, sizeof g, "/sys/fs/cgroup/mydocker-%s", name);
    if (mkdir(g, 0755) < 0) die("cannot make the cgroup %s: %s", g, strerror(errno));
    snprintf(cgroup_dirs[n_cgroup_dirs++], PATH_MAX, "%s", g);
    if (cpu_quota) WRITE(g, "cpu.max", "%lld %d", cpu_quota, PERIOD);
    if (memory_bytes) {
      WRITE(g, "memory.max", "%lld", memory_bytes);
      snprintf(file, sizeof file, "%s/memory.swap.max", g);
      if (access(file, F_OK) == 0) WRITE(g, "memory.swap.max", "0");
    }
    if (pids_max) WRITE(g, "pids.max", "%lld", pids_max);
  } else {
    // v1 or hybrid: the same group in each controller's own hierarchy.
    const char *controllers[] = {"cpu", "memory", "pids"};
    for (int i = 0; i < 3; i++) {
      snprintf(g, sizeof g, "/sys/fs/cgroup/%s", controllers[i]);
      if (!is_dir(g)) die("no %s hierarchy at %s", controllers[i], g);
      snprintf(g, sizeof g, "/sys/fs/cgroup/%s/mydocker-%s", controllers[i], name);
      if (mkdir(g, 0755) < 0) die("cannot make the cgroup %s: %s", g, strerror(errno));
      snprintf(cgroup_dirs[n_cgroup_dirs++], PATH_MAX, "%s", g);
    }
    if (cpu_quota) {
      WRITE(cgroup_dirs[0], "cpu.cfs_period_us", "%d", PERIOD);
      WRITE(cgroup_dirs[0], "cpu.cfs_quota_us", "%lld", cpu_quota);
    }
    if (memory_bytes) {
      // The memory limit first: memory + swap may never be below it.
      WRITE(cgroup_dirs[1], "memory.limit_in_bytes", "%lld", memory_bytes);
      snprintf(file, sizeof file, "%s/memory.memsw.limit_in_bytes", cgroup_dirs[1]);
      if (access(file, F_OK) == 0) WRITE(cgroup_dirs[1], "memory.memsw.limit_in_bytes", "%lld", memory_bytes);
    }
    if (pids_max) WRITE(cgroup_dirs[2], "pids.max", "%lld", pids_max);
  }
#undef WRITE
  // --- END cgroup ---
}

// This program joins the group just before clone(): the child is born in it (everything the
// container starts is in it from its first instruction), and its new cgroup namespace has the
// group as its root.
static void join_cgroup(void) {
  // --- BEGIN cgroup (lessons 2, 8) ---
  // ## Remember this program's own group in each hierarchy of cgroup_dirs (own_groups:
  // ## /proc/self/cgroup says which, lesson 2), then write getpid() into cgroup.procs of each
  // ## directory in cgroup_dirs (lesson 8: a process joins the group, its children are born in it).
  // ## Done when: /proc/<pid>/cgroup of the container's PID 1 shows the group.
  for (int i = 0; i < n_cgroup_dirs; i++) {
    char hierarchy[PATH_MAX], line[PATH_MAX + 64], pid[16];
    snprintf(hierarchy, sizeof hierarchy, "%s", cgroup_dirs[i]);
    *strrchr(hierarchy, '/') = 0;                    // /sys/fs/cgroup (v2), /sys/fs/cgroup/cpu (v1) ...
    const char *controller = strrchr(hierarchy, '/') + 1; // cgroup (v2), cpu ...
    int v2 = !strcmp(hierarchy, "/sys/fs/cgroup");
    // Lines of /proc/self/cgroup: ID:CONTROLLERS:PATH; v2's is 0::PATH.
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f) die("cannot read /proc/self/cgroup");
    own_groups[i][0] = 0;
    while (fgets(line, sizeof line, f)) {
      line[strcspn(line, "\n")] = 0;
      char *controllers = strchr(line, ':'), *where;
      if (!controllers || !(where = strchr(++controllers, ':'))) continue;
      *where++ = 0;
      char list[PATH_MAX + 2], want[64];
      snprintf(list, sizeof list, ",%s,", controllers);
      snprintf(want, sizeof want, ",%s,", controller);
      if ((v2 && !*controllers) || (!v2 && strstr(list, want)))
        snprintf(own_groups[i], PATH_MAX, "%s%s", hierarchy, where);
    }
    fclose(f);
    if (!own_groups[i][0]) die("cannot tell this program's own group in %s", hierarchy);
    snprintf(line, sizeof line, "%s/cgroup.procs", cgroup_dirs[i]);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    if (write_text(line, pid) < 0) die("cannot join the cgroup %s: %s", cgroup_dirs[i], strerror(errno));
  }
  // --- END cgroup ---
}

// Once clone() has made the container's PID 1 in the group, this program goes back to its own
// groups: only the container's processes count against its limits, and the OOM killer chooses
// among them alone.
static void leave_cgroup(void) {
  // --- BEGIN cgroup (lessons 2, 8) ---
  // ## Write getpid() into cgroup.procs of own_groups[i], for each group joined.
  // ## Done when: the group's cgroup.procs lists the container's processes and nothing else.
  char file[PATH_MAX + 16], pid[16];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  for (int i = 0; i < n_cgroup_dirs; i++) {
    snprintf(file, sizeof file, "%s/cgroup.procs", own_groups[i]);
    if (write_text(file, pid) < 0) die("cannot go back to %s: %s", own_groups[i], strerror(errno));
  }
  // --- END cgroup ---
}

// The namespaces the container is clone()d into.
static void choose_namespaces(void) {
  // --- BEGIN namespaces (lessons 3-5, 9) ---
  // ## Choose clone()'s flags: CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID,
  // ## CLONE_NEWNET and CLONE_NEWCGROUP (lessons 3, 4, 5, 9), and SIGCHLD, so that this program
  // ## is told when the child ends and can waitpid() for it. The child is PID 1 of the new PID
  // ## namespace (lesson 4).
  // ## Done when: /proc/<pid>/ns/* of the container differ from /proc/self/ns/* of the host.
  clone_flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | SIGCHLD;
  // --- END namespaces ---
}

// The network, from the host: the container's network namespace is its PID 1's.
static void connect_network(void) {
  // --- BEGIN network (lesson 6) ---
  // ## Give the container's network namespace lo, up; and with --ip a veth pair: the host's end
  // ## up and enslaved to bridge, the container's end named eth0, with ip, up, and a default
  // ## route via gateway. Set veth to the host's end (cleanup deletes it).
  // ## run_cmd(container_pid, argv) runs `ip` in the container's network namespace (setns, as
  // ## nsenter -n does, lesson 6); run_cmd(0, argv) runs it on the host.
  // ## Done when: ip inside (nsenter -t <pid> -n ip addr; ip route) shows lo up, eth0 with the
  // ## address and the default route; /proc/<pid>/net/route has it; ping crosses.
  pid_t pid = container_pid;
  char netns[16];
  snprintf(netns, sizeof netns, "%d", (int)pid);
  if (run_cmd(pid, (char *[]){"ip", "link", "set", "lo", "up", NULL})) die("cannot set lo up in the container");
  if (!*ip) return;
  // The host's end is named after PID 1's pid: unique while the container runs, and at most
  // 15 characters, as a link's name must be.
  char name_here[16];
  snprintf(name_here, sizeof name_here, "mydocker%d", (int)pid);
  if (run_cmd(0, (char *[]){"ip", "link", "add", name_here, "type", "veth", "peer", "name", "eth0", "netns", netns, NULL}))
    die("cannot make the veth pair");
  snprintf(veth, sizeof veth, "%s", name_here);
  if (run_cmd(0, (char *[]){"ip", "link", "set", veth, "master", bridge, "up", NULL})) die("cannot plug %s into %s", veth, bridge);
  if (run_cmd(pid, (char *[]){"ip", "addr", "add", ip, "dev", "eth0", NULL})) die("cannot give eth0 the address %s", ip);
  if (run_cmd(pid, (char *[]){"ip", "link", "set", "eth0", "up", NULL})) die("cannot set eth0 up");
  if (run_cmd(pid, (char *[]){"ip", "route", "add", "default", "via", gateway, NULL})) die("cannot add the default route via %s", gateway);
  // --- END network ---
}

// In the container, first: its mounts are its own from now on (mount --make-rprivate /).
static void private_mounts(void) {
  // --- BEGIN namespaces (lessons 3-5, 9) ---
  // ## Make every mount of the new mount namespace private (mount(NULL, "/", NULL,
  // ## MS_REC | MS_PRIVATE, NULL)), before anything is mounted: a shared / would carry the
  // ## overlay and /proc back to the host (lesson 3).
  // ## Done when: the host's /proc/self/mountinfo does not change while the container runs.
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("cannot make the mounts private: %s", strerror(errno));
  // --- END namespaces ---
}

// In the container, as PID 1 of its PID namespace: the hostname, /proc, /dev, pivot_root.
static void enter_root(void) {
  // --- BEGIN namespaces (lessons 3-5, 9) ---
  // ## Turn cdir/merged into the container's /, as lesson 3 does with the rootfs:
  // ## sethostname(host) (the UTS namespace is the container's own); a fresh proc at
  // ## merged/proc (mounted from inside the new PID namespace, lesson 4) and a small /dev (a
  // ## tmpfs with null, zero, full, random, urandom, tty and a devpts of its own);
  // ## chdir(merged); mkdir .old_root; syscall(SYS_pivot_root, ".", ".old_root");
  // ## chdir("/"); umount2("/.old_root", MNT_DETACH); rmdir("/.old_root").
  // ## Done when: /proc/<pid>/mountinfo of the container holds /, /proc and /dev only, and no
  // ## host file is reachable from its root; /proc/1 inside is the command.
  char root[PATH_MAX], path[PATH_MAX + 32];
  snprintf(root, sizeof root, "%s/merged", cdir);
  if (sethostname(host, strlen(host)) < 0) die("cannot set the hostname: %s", strerror(errno));
  snprintf(path, sizeof path, "%s/proc", root);
  mkdir(path, 0555);
  if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) die("cannot mount proc: %s", strerror(errno));
  snprintf(path, sizeof path, "%s/dev", root);
  mkdir(path, 0755);
  if (mount("tmpfs", path, "tmpfs", MS_NOSUID, "mode=755,size=65536k") < 0) die("cannot mount a tmpfs on /dev: %s", strerror(errno));
  static const struct { const char *name; int major, minor; } devices[] = {
      {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  for (size_t i = 0; i < sizeof devices / sizeof *devices; i++) {
    snprintf(path, sizeof path, "%s/dev/%s", root, devices[i].name);
    if (mknod(path, S_IFCHR | 0666, makedev(devices[i].major, devices[i].minor)) < 0 || chmod(path, 0666) < 0)
      die("cannot make /dev/%s: %s", devices[i].name, strerror(errno));
  }
  snprintf(path, sizeof path, "%s/dev/shm", root);
  mkdir(path, 01777);
  snprintf(path, sizeof path, "%s/dev/pts", root);
  if (mkdir(path, 0755) < 0) die("cannot make /dev/pts: %s", strerror(errno));
  if (mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
    die("cannot mount devpts: %s", strerror(errno));
  static const char *links[][2] = {{"ptmx", "pts/ptmx"}, {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
                                   {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}};
  for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
    snprintf(path, sizeof path, "%s/dev/%s", root, links[i][0]);
    if (symlink(links[i][1], path) < 0) die("cannot make the link /dev/%s: %s", links[i][0], strerror(errno));
  }
  if (chdir(root) < 0) die("cannot enter %s: %s", root, strerror(errno));
  if (mkdir(".old_root", 0700) < 0 && errno != EEXIST) die("cannot make .old_root: %s", strerror(errno));
  if (syscall(SYS_pivot_root, ".", ".old_root") < 0) die("pivot_root failed: %s", strerror(errno));
  if (chdir("/") < 0) die("cannot enter the new /: %s", strerror(errno));
  if (umount2("/.old_root", MNT_DETACH) < 0) die("cannot detach the old root: %s", strerror(errno));
  if (rmdir("/.old_root") < 0) die("cannot remove /.old_root: %s", strerror(errno));
  // --- END namespaces ---
}

// CMD, with the environment docker run gives (not the host's variables), as PID 1.
static void exec_command(void) {
  const char *term = getenv("TERM");
  char *term_copy = term ? strdup(term) : NULL;
  clearenv();
  setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
  setenv("HOSTNAME", host, 1);
  setenv("HOME", "/root", 1);
  if (term_copy && *term_copy) setenv("TERM", term_copy, 1);
  execvp(cmd[0], cmd);
  // As docker run: 127 when the command is not there, 126 when it cannot be run.
  fprintf(stderr, "mydocker: cannot run %s: %s\n", cmd[0], strerror(errno));
  exit(errno == ENOENT ? 127 : 126);
}

// The clone() child, born in the new namespaces: PID 1 of its PID namespace.
static int container_main(void *arg) {
  (void)arg;
  in_container = 1;
  // Signals as they were before mydocker run caught them: CMD gets the usual ones.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGALRM, SIG_DFL);
  close(ready[1]);
  // Until the host says go; if it is gone instead (end of file), so is this.
  char go[3] = {0};
  if (read(ready[0], go, 2) != 2 || strcmp(go, "go")) _exit(125);
  close(ready[0]);
  private_mounts();
  mount_root();
  enter_root();
  exec_command();
  return 127;
}

// Everything the container was, removed. It runs on the way out, once the container is dead.
static void cleanup(void) {
  // --- BEGIN cleanup (lessons 2-8, Clean up) ---
  // ## Remove what this run made: the veth (deleting the host's end deletes both), the cgroup
  // ## directories (rmdir, once no process is left in them), and cdir with upper, work and
  // ## merged (only if cdir_made: another container's directory is not ours). The overlay,
  // ## /proc and /dev were mounted in the container's own mount namespace: they went with it.
  // ## Done when: nothing is left: no mount, no directory in $lab/containers, no cgroup, no
  // ## link (ip link), no process.
  char path[PATH_MAX + 32];
  if (*veth) {
    snprintf(path, sizeof path, "/sys/class/net/%s", veth);
    if (access(path, F_OK) == 0 && run_cmd(0, (char *[]){"ip", "link", "del", veth, NULL}) && access(path, F_OK) == 0)
      fprintf(stderr, "mydocker: cannot delete %s\n", veth);
  }
  for (int i = 0; i < n_cgroup_dirs; i++) {
    for (int tries = 0; tries < 50; tries++) {
      // Anything still in the group is the container's: a group with a process in it cannot
      // be removed.
      snprintf(path, sizeof path, "%s/cgroup.procs", cgroup_dirs[i]);
      FILE *f = fopen(path, "r");
      int pid;
      while (f && fscanf(f, "%d", &pid) == 1) kill(pid, SIGKILL);
      if (f) fclose(f);
      if (rmdir(cgroup_dirs[i]) == 0 || errno == ENOENT) break;
      usleep(100000);
    }
    if (is_dir(cgroup_dirs[i])) fprintf(stderr, "mydocker: cannot remove the cgroup %s\n", cgroup_dirs[i]);
  }
  if (cdir_made && remove_tree(cdir) < 0) fprintf(stderr, "mydocker: cannot remove %s: %s\n", cdir, strerror(errno));
  // --- END cleanup ---
}

// Stop the container, if it still runs: SIGKILL to its PID 1 ends every process of its PID
// namespace. Once PID 1 has exited, its namespaces (with their mounts and links) are gone.
static void stop_container(void) {
  if (container_pid <= 0) return;
  kill(container_pid, SIGKILL);
  while (waitpid(container_pid, NULL, 0) < 0 && errno == EINTR) {}
  container_pid = 0;
}

// On the way out, whatever the way (exit(), die()): stop the container, clean up.
static void at_exit(void) {
  if (in_container) return;
  signal(SIGINT, SIG_IGN); // a second Ctrl-C must not cut the cleanup short
  signal(SIGTERM, SIG_IGN);
  stop_container();
  cleanup();
}

// SIGINT or SIGTERM: passed on to the container's PID 1, and SIGKILL 2 s later if it is still
// there (a PID 1 without a handler ignores them, lesson 4); before the container, kept for later.
static void on_signal(int sig) {
  if (container_pid > 0) {
    kill(container_pid, pending_signal ? SIGKILL : sig); // the second one: no more waiting
    alarm(2);
  }
  pending_signal = sig;
}
static void on_alarm(int sig) {
  (void)sig;
  if (container_pid > 0) kill(container_pid, SIGKILL);
}

// mydocker run: on the host.
static int run(int argc, char **argv) {
  parse_args(argc, argv);
  atexit(at_exit);
  struct sigaction sa = {0};
  sa.sa_handler = on_signal; // no SA_RESTART: waitpid() returns EINTR, and the loop goes on
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
#define STOP_IF_ASKED() \
  if (pending_signal) exit(128 + pending_signal)
  prepare_root();
  STOP_IF_ASKED();
  make_cgroup();
  STOP_IF_ASKED();
  choose_namespaces();
  // The container waits on this pipe until the host side is done (the network).
  if (pipe2(ready, O_CLOEXEC) < 0) die("cannot make a pipe: %s", strerror(errno));
  size_t stack_size = 1024 * 1024;
  char *stack = malloc(stack_size);
  if (!stack) die("no memory for the container's stack");
  fflush(NULL); // the child must not print what this process has buffered
  join_cgroup();
  // Signals held while the child is made, so that container_pid is set before a handler runs.
  sigset_t hold, was;
  sigemptyset(&hold);
  sigaddset(&hold, SIGINT);
  sigaddset(&hold, SIGTERM);
  sigprocmask(SIG_BLOCK, &hold, &was);
  pid_t pid = clone(container_main, stack + stack_size, clone_flags, NULL);
  int clone_errno = errno;
  if (pid > 0) container_pid = pid;
  sigprocmask(SIG_SETMASK, &was, NULL);
  leave_cgroup();
  if (pid < 0) die("clone failed: %s", strerror(clone_errno));
  close(ready[0]);
  STOP_IF_ASKED();
  connect_network();
  STOP_IF_ASKED();
  if (write(ready[1], "go", 2) != 2) die("cannot tell the container to go on: %s", strerror(errno));
  close(ready[1]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) die("cannot wait for the container: %s", strerror(errno));
  container_pid = 0;
  free(stack);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "run")) exit(run(argc - 2, argv + 2));
  if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))) {
    usage(stdout);
    return 0;
  }
  usage(stderr);
  return 125;
}
