// mydocker.rs: `docker run` in Rust, the capstone's runtime (capstone/INTERFACE.md).
//
// =============================================================================================
// Generated from capstone/rust/mydocker.rs by scripts/capstone-skeleton.mjs, with these pieces
// left for you to write: root, cgroup, namespaces, network, cleanup. Each says what it must do,
// which lesson teaches it and what shows it done in the kernel. Until it is written, root or
// namespaces stops mydocker (exit 125, "TODO: root ..."); any other piece is skipped with a
// note, and the container runs without it. Build it with `rustc -O -o mydocker mydocker.rs`,
// then check your work with: sudo container-lessons check capstone --runtime ./mydocker
// =============================================================================================
//
// It is made of the system calls the lessons taught: clone() with the namespace flags (as the
// seed's container_main), mount, pivot_root, the cgroup files and sethostname. The standard
// library only: the few libc functions it needs are declared below (extern "C"), so no crate
// is needed. Build it, and run it as root:
//
//   rustc -O -o mydocker mydocker.rs
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
//                    namespaces: waits for the go, mounts the overlay, /proc and /dev,
//                    pivot_root, sethostname, then execvp CMD
//
// Each piece a lesson taught sits between a line "// --- BEGIN <piece> (<lessons>) ---" and a
// line "// --- END <piece> ---". Its lines starting with `// ##` say what it must do and where
// the kernel shows it done. capstone/skeleton/mydocker.rs is this file with every piece but args
// emptied (made by scripts/capstone-skeleton.mjs): the learner's starting point.

// The skeleton leaves some helpers and variables unused until its pieces are written.
#![allow(dead_code, unused_variables, unused_mut, unused_imports)]

use std::ffi::{CString, OsStr};
use std::fs;
use std::io::{Read, Write};
use std::os::raw::{c_char, c_int, c_long, c_uint, c_void};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, DirBuilderExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{self, Command};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard};

// The libc functions and constants used here (glibc, Linux), as <sched.h>, <sys/mount.h> ...
// declare them.
extern "C" {
    fn clone(f: extern "C" fn(*mut c_void) -> c_int, stack: *mut c_void, flags: c_int, arg: *mut c_void, ...) -> c_int;
    fn mount(source: *const c_char, target: *const c_char, fstype: *const c_char, flags: u64, data: *const c_void) -> c_int;
    fn umount2(target: *const c_char, flags: c_int) -> c_int;
    fn syscall(number: c_long, ...) -> c_long;
    fn sethostname(name: *const c_char, len: usize) -> c_int;
    fn mknod(path: *const c_char, mode: c_uint, dev: u64) -> c_int;
    fn setns(fd: c_int, nstype: c_int) -> c_int;
    fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int;
    fn kill(pid: c_int, sig: c_int) -> c_int;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn signal(sig: c_int, handler: usize) -> usize;
    fn alarm(seconds: c_uint) -> c_uint;
    fn geteuid() -> c_uint;
    fn pipe(fds: *mut c_int) -> c_int;
    fn close(fd: c_int) -> c_int;
    fn read(fd: c_int, buf: *mut c_void, n: usize) -> isize;
    fn write(fd: c_int, buf: *const c_void, n: usize) -> isize;
    fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    fn statfs(path: *const c_char, buf: *mut StatFs) -> c_int;
    fn sched_getaffinity(pid: c_int, size: usize, mask: *mut u8) -> c_int;
    fn _exit(code: c_int) -> !;
}

/// struct statfs: its first field is f_type; the rest is room for the others.
#[repr(C)]
struct StatFs {
    f_type: c_long,
    rest: [u64; 32],
}

const CLONE_NEWNS: c_int = 0x0002_0000;
const CLONE_NEWCGROUP: c_int = 0x0200_0000;
const CLONE_NEWUTS: c_int = 0x0400_0000;
const CLONE_NEWIPC: c_int = 0x0800_0000;
const CLONE_NEWPID: c_int = 0x2000_0000;
const CLONE_NEWNET: c_int = 0x4000_0000;
const SIGINT: c_int = 2;
const SIGKILL: c_int = 9;
const SIGALRM: c_int = 14;
const SIGTERM: c_int = 15;
const SIGCHLD: c_int = 17;
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;
const MS_NOSUID: u64 = 2;
const MS_NODEV: u64 = 4;
const MS_NOEXEC: u64 = 8;
const MS_REC: u64 = 16384;
const MS_PRIVATE: u64 = 1 << 18;
const MNT_DETACH: c_int = 2;
const F_SETFD: c_int = 2;
const FD_CLOEXEC: c_int = 1;
const CGROUP2_SUPER_MAGIC: c_long = 0x6367_7270; // statfs's f_type of a cgroup2 file system
#[cfg(target_arch = "x86_64")]
const SYS_PIVOT_ROOT: c_long = 155;
#[cfg(target_arch = "aarch64")]
const SYS_PIVOT_ROOT: c_long = 41;

// The CFS period: --cpus C is a quota of C periods in every period (lesson 2).
const PERIOD: u64 = 100_000;

/// What the pieces hand to each other: read from the arguments, then filled in by the pieces.
#[derive(Default)]
struct State {
    lab: String,         // the lab: $CONTAINER_LESSONS_HOME
    name: String,        // --name
    host: String,        // --hostname (default: the name)
    cpu_quota: u64,      // --cpus, as microseconds per PERIOD (0: none)
    memory_bytes: u64,   // --memory, in bytes (0: none)
    pids_max: u64,       // --pids (0: none)
    ip: String,          // --ip ADDR/PREFIX
    bridge: String,      // $MYDOCKER_BRIDGE
    gateway: String,     // $MYDOCKER_GATEWAY
    image: String,       // the image's name
    image_top: String,   // the directory name of the image's top layer in $lab/layers
    cmd: Vec<String>,    // the command and its arguments
    cdir: String,        // the container's directory: $lab/containers/$name
    lowerdirs: String,   // the overlay's lowerdir=, top first
    own_groups: Vec<String>, // this program's own group in each hierarchy of the container's
    clone_flags: c_int,  // the namespaces the container gets
    ready: [c_int; 2],   // a pipe: the host writes "go" once the network is made
}

/// What this run made on the host, for cleanup to remove: kept apart from State so that die()
/// can clean up from anywhere.
struct Made {
    cdir: Option<String>,     // the container's directory, once this run made it
    cgroup_dirs: Vec<String>, // the cgroup directories made for the container
    veth: Option<String>,     // the host's end of the container's veth pair
}
static MADE: Mutex<Made> = Mutex::new(Made { cdir: None, cgroup_dirs: Vec::new(), veth: None });
fn made() -> MutexGuard<'static, Made> {
    MADE.lock().unwrap_or_else(|e| e.into_inner())
}

static CONTAINER_PID: AtomicI32 = AtomicI32::new(0); // the clone() child: PID 1 of the container
static PENDING_SIGNAL: AtomicI32 = AtomicI32::new(0); // SIGINT/SIGTERM received
static IN_CONTAINER: AtomicBool = AtomicBool::new(false); // in the clone() child: no cleanup there
static STARTED: AtomicBool = AtomicBool::new(false); // the arguments are good: from now on, things are made
static TODO_SAID: Mutex<Vec<String>> = Mutex::new(Vec::new()); // the pieces a TODO note was printed for

fn die(message: String) -> ! {
    eprintln!("mydocker: {}", message);
    finish(125)
}

/// Exit with `code`; on the host, once something may have been made, first stop the container
/// and clean up.
fn finish(code: i32) -> ! {
    if STARTED.load(Ordering::SeqCst) && !IN_CONTAINER.load(Ordering::SeqCst) {
        unsafe {
            signal(SIGINT, SIG_IGN); // a second Ctrl-C must not cut the cleanup short
            signal(SIGTERM, SIG_IGN);
        }
        stop_container();
        cleanup();
    }
    let _ = std::io::stdout().flush();
    process::exit(code)
}

// An open piece of the skeleton calls todo. root and namespaces cannot be left out: without them
// CMD would run in the host's own root directory and namespaces, so the runtime stops there with
// exit 125. The other pieces are skipped with a one-line note, and the container runs without
// them: the conformance suite then fails exactly the checks of what is missing.
fn todo(piece: &str, lessons: &str) {
    if piece == "root" || piece == "namespaces" {
        eprintln!("mydocker: TODO: {} ({}) is not written yet", piece, lessons);
        // The runtime stops here, with no more notes on the way out.
        TODO_SAID.lock().unwrap_or_else(|e| e.into_inner()).push("*".to_string());
        finish(125);
    }
    let mut said = TODO_SAID.lock().unwrap_or_else(|e| e.into_inner());
    if IN_CONTAINER.load(Ordering::SeqCst) || said.iter().any(|p| p == piece || p == "*") {
        return;
    }
    said.push(piece.to_string());
    eprintln!("mydocker: TODO: {} ({}) is not written yet: skipped", piece, lessons);
}

const USAGE: &str = "usage: mydocker run [--name N] [--hostname H] [--cpus C] [--memory M] [--pids P]
                    [--ip ADDR/PREFIX] IMAGE CMD [ARG...]
  --name N        a name of its own among running containers (default: mydocker-<pid>)
  --hostname H    its hostname (default: its name)
  --cpus C        at most C CPUs (a quota of C x 100000 us per 100000 us, lesson 2)
  --memory M      at most M bytes of memory, no swap (k, m, g allowed: 64m; lesson 8)
  --pids P        at most P processes and threads (lesson 8)
  --ip ADDR/PRE   eth0 with that address on $MYDOCKER_BRIDGE, default route via
                  $MYDOCKER_GATEWAY (lesson 6)
IMAGE is an image of the lab's layer store ($CONTAINER_LESSONS_HOME/images/IMAGE.json).";

// --- small helpers: C strings, files, checks of names, commands ---

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| die(format!("{:?} has a NUL byte", s)))
}

fn errno() -> std::io::Error {
    std::io::Error::last_os_error()
}

/// The whole of a small file, without its trailing newline.
fn read_text(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim_end_matches(&['\n', '\r'][..]).to_string())
}

/// Write `value` to a file (a cgroup file: one write, as echo does).
fn write_text(path: &str, value: &str) -> std::io::Result<()> {
    fs::OpenOptions::new().write(true).open(path)?.write_all(value.as_bytes())
}

fn write_or_die(dir: &str, leaf: &str, value: String) {
    let file = format!("{}/{}", dir, leaf);
    if let Err(e) = write_text(&file, &value) {
        die(format!("cannot write {}: {}", file, e));
    }
}

fn mkdir(path: &str, mode: u32) -> std::io::Result<()> {
    fs::DirBuilder::new().mode(mode).create(path)
}

fn is_dir(path: &str) -> bool {
    Path::new(path).is_dir()
}

fn all_digits(s: &str, min: usize, max: usize) -> bool {
    s.len() >= min && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
}

/// A name: a letter or digit, then up to 63 of those or of `more`.
fn is_name(s: &str, more: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b.len() <= 64 && b[0].is_ascii_alphanumeric() && b.iter().all(|&c| c.is_ascii_alphanumeric() || more.as_bytes().contains(&c))
}

/// An IPv4 address: four numbers up to 255.
fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| all_digits(p, 1, 3) && p.parse::<u32>().map_or(false, |n| n <= 255))
}

/// Run a command of the host (`ip`) and wait for it; with netns_of > 0, in the network namespace
/// of that process (setns, as nsenter -n does). Like runc's hooks and the CNI plugins, mydocker
/// leaves the netlink messages to iproute2: lesson 6 taught these same `ip` commands. True if
/// it exited 0.
fn run_cmd(netns_of: i32, argv: &[&str]) -> bool {
    let mut command = Command::new(argv[0]);
    command.args(&argv[1..]);
    let netns = if netns_of > 0 {
        match fs::File::open(format!("/proc/{}/ns/net", netns_of)) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("mydocker: cannot open /proc/{}/ns/net: {}", netns_of, e);
                return false;
            }
        }
    } else {
        None
    };
    if let Some(f) = &netns {
        let fd = f.as_raw_fd();
        unsafe {
            command.pre_exec(move || if setns(fd, CLONE_NEWNET) == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) });
        }
    }
    match command.status() {
        Ok(status) => status.success(),
        Err(e) => {
            eprintln!("mydocker: cannot run {}: {}", argv[0], e);
            false
        }
    }
}

/// The lab, as the workbook finds it: CONTAINER_LESSONS_HOME, or the home of the user who ran
/// sudo, or this user's home.
fn lab_dir() -> String {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if !var("CONTAINER_LESSONS_HOME").is_empty() {
        return var("CONTAINER_LESSONS_HOME");
    }
    let sudo_user = var("SUDO_USER");
    if !sudo_user.is_empty() && sudo_user != "root" {
        // getent passwd USER: the sixth field is the home.
        let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() > 5 && fields[0] == sudo_user {
                return format!("{}/container-lessons", fields[5]);
            }
        }
    }
    let home = var("HOME");
    format!("{}/container-lessons", if home.is_empty() { "/root".to_string() } else { home })
}

/// The number of CPUs this process may run on, as nproc counts them.
fn cpus_here() -> u64 {
    let mut mask = [0u8; 128];
    if unsafe { sched_getaffinity(0, mask.len(), mask.as_mut_ptr()) } == 0 {
        return mask.iter().map(|b| b.count_ones() as u64).sum();
    }
    1
}

/// Read `run`'s options and check every one of them before anything is made: a bad argument
/// touches nothing.
fn parse_args(args: &[String]) -> State {
    let mut s = State::default();
    // --- BEGIN args (given) ---
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        if arg == "-h" || arg == "--help" {
            println!("{}", USAGE);
            process::exit(0);
        }
        if arg == "--" {
            i += 1;
            break;
        }
        if !arg.starts_with('-') {
            break;
        }
        let (opt, value) = match arg.find('=') {
            Some(eq) => {
                i += 1;
                (&arg[..eq], args[i - 1][eq + 1..].to_string())
            }
            None => {
                if i + 1 >= args.len() && ["--name", "--hostname", "--cpus", "--memory", "--pids", "--ip"].contains(&arg) {
                    die(format!("{} needs a value", arg));
                }
                i += 2;
                (arg, args.get(i - 1).cloned().unwrap_or_default())
            }
        };
        match opt {
            "--name" => s.name = value,
            "--hostname" => s.host = value,
            "--ip" => s.ip = value,
            "--pids" => {
                if !(all_digits(&value, 1, 9) && !value.starts_with('0')) {
                    die(format!("--pids {}: not a number of processes (such as 32)", value));
                }
                s.pids_max = value.parse().unwrap();
            }
            "--cpus" => {
                // A decimal number, in whole microseconds of quota: 0.2 -> 20000.
                let (whole, fraction) = match value.find('.') {
                    Some(dot) => (&value[..dot], &value[dot + 1..]),
                    None => (value.as_str(), ""),
                };
                if !value.bytes().any(|b| b.is_ascii_digit()) || !all_digits(whole, 0, 6) || !all_digits(fraction, 0, usize::MAX) {
                    die(format!("--cpus {}: not a number of CPUs (such as 0.5)", value));
                }
                let fraction5: String = format!("{}00000", fraction).chars().take(5).collect();
                s.cpu_quota = whole.parse::<u64>().unwrap_or(0) * PERIOD + fraction5.parse::<u64>().unwrap();
                let cpus = cpus_here();
                if s.cpu_quota < 1000 || s.cpu_quota > cpus * PERIOD {
                    die(format!("--cpus {}: the range of CPUs is from 0.01 to {}.00 ({} CPUs here)", value, cpus, cpus));
                }
            }
            "--memory" => {
                let digits = value.trim_end_matches(|c: char| "bkmgBKMG".contains(c));
                let unit = &value[digits.len()..];
                if !all_digits(digits, 1, 12) || unit.len() > 1 {
                    die(format!("--memory {}: not an amount of memory (such as 64m: bytes, or k, m, g)", value));
                }
                let number: u64 = digits.parse().unwrap();
                s.memory_bytes = match unit.to_ascii_lowercase().as_str() {
                    "k" => number * 1024,
                    "m" => number * 1024 * 1024,
                    "g" => number * 1024 * 1024 * 1024,
                    _ => number,
                };
                // As docker run: less than this cannot even start the container's first process.
                if s.memory_bytes < 6 * 1024 * 1024 {
                    die(format!("--memory {}: the minimum is 6m", value));
                }
            }
            _ => die(format!("unknown option {} (mydocker --help lists them)", arg)),
        }
    }
    if i >= args.len() {
        die("no IMAGE given (usage: mydocker run [OPTIONS] IMAGE CMD [ARG...])".to_string());
    }
    s.image = args[i].clone();
    if i + 1 >= args.len() {
        die("no command given (usage: mydocker run [OPTIONS] IMAGE CMD [ARG...])".to_string());
    }
    s.cmd = args[i + 1..].to_vec();

    if unsafe { geteuid() } != 0 {
        die("run me as root (sudo): mounts, namespaces and cgroups need it".to_string());
    }
    s.lab = lab_dir();
    if s.name.is_empty() {
        s.name = format!("mydocker-{}", process::id());
    }
    if s.host.is_empty() {
        s.host = s.name.clone();
    }
    if !is_name(&s.name, "_.-") {
        die(format!("--name {}: letters, digits, _ . - only (up to 64), starting with a letter or digit", s.name));
    }
    if !is_name(&s.host, ".-") {
        die(format!("--hostname {}: letters, digits, . - only (up to 64), starting with a letter or digit", s.host));
    }
    if !s.ip.is_empty() {
        let ok = match s.ip.find('/') {
            Some(slash) => {
                let prefix = &s.ip[slash + 1..];
                is_ipv4(&s.ip[..slash]) && all_digits(prefix, 1, 2) && (1..=32).contains(&prefix.parse::<u32>().unwrap())
            }
            None => false,
        };
        if !ok {
            die(format!("--ip {}: not an IPv4 address with a prefix length (such as 10.0.0.2/24)", s.ip));
        }
        s.bridge = std::env::var("MYDOCKER_BRIDGE").unwrap_or_default();
        s.gateway = std::env::var("MYDOCKER_GATEWAY").unwrap_or_default();
        if s.bridge.is_empty() {
            die("--ip needs MYDOCKER_BRIDGE: the bridge to plug the container into (lesson 6)".to_string());
        }
        if s.bridge.contains('/') || !is_dir(&format!("/sys/class/net/{}/bridge", s.bridge)) {
            die(format!("MYDOCKER_BRIDGE={}: no such bridge on this host (lesson 6 makes one)", s.bridge));
        }
        if !is_ipv4(&s.gateway) {
            die(format!("--ip needs MYDOCKER_GATEWAY: the bridge's IPv4 address (now '{}')", s.gateway));
        }
    }

    // The image: images/<IMAGE>.json names its top layer ("top": the layer's directory).
    let record = format!("{}/images/{}.json", s.lab, s.image);
    let image_ok = !s.image.starts_with('.') && is_name(&format!("a{}", s.image), "_.-") && s.image.len() < 64;
    let json = match if image_ok { read_text(&record) } else { None } {
        Some(json) => json,
        None => die(format!("no image '{}' in {}/images (import one: container-lessons import)", s.image, s.lab)),
    };
    // "top": "<64 hex digits>", as the bash reference's pattern "top": *"([0-9a-f]{64})".
    let top = json.find("\"top\":").map(|at| json[at + 6..].trim_start_matches(' ')).and_then(|rest| {
        let hex = rest.strip_prefix('"')?.get(..65)?;
        let ok = hex.ends_with('"') && hex[..64].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok { Some(hex[..64].to_string()) } else { None }
    });
    s.image_top = top.unwrap_or_else(|| die(format!("{} names no top layer", record)));
    if !Path::new(&format!("{}/layers/{}/link", s.lab, s.image_top)).exists() {
        die(format!("image '{}': its top layer {} is not in {}/layers", s.image, s.image_top, s.lab));
    }

    s.cdir = format!("{}/containers/{}", s.lab, s.name);
    if Path::new(&s.cdir).exists() {
        die(format!("--name {}: a container of that name is running (or {} was left behind)", s.name, s.cdir));
    }
    // --- END args ---
    s
}

/// The container's root filesystem, part 1 (on the host): the image's layers, and the
/// container's own directories.
fn prepare_root(s: &mut State) {
    // --- BEGIN root (lesson 7) ---
    // ## Find the image's layers in $lab/layers and make the container's directories.
    // ## lowerdir= lists the image's top layer first ($lab/layers/l/ + the top layer's link
    // ## file), then the layers its lower file names (l/<short>:l/<short>..., nearest first).
    // ## Claim the name by making s.cdir (it fails if another container has it), record it in
    // ## made().cdir, and make cdir/upper, cdir/work and cdir/merged.
    // ## Done when: the container's /proc/<pid>/mountinfo shows / as an overlay with these
    // ## lowerdirs and upperdir=cdir/upper.
    // TODO: write this (lesson 7); the lines above say what it must do.
    todo("root", "lesson 7");
    // --- END root ---
}

/// The container's root filesystem, part 2 (in the container's new mount namespace): the
/// overlay. Mounted there, it goes away with the namespace: no mount on the host to forget.
fn mount_root(s: &State) {
    // --- BEGIN root (lesson 7) ---
    // ## Mount the overlay at cdir/merged: lowerdir=lowerdirs, upperdir=cdir/upper,
    // ## workdir=cdir/work (lessons 1 and 7). The image's layers are only read; every write of
    // ## the container lands in upper.
    // ## Done when: /proc/<pid>/mountinfo (the container's) shows / as that overlay.
    // TODO: write this (lesson 7); the lines above say what it must do.
    todo("root", "lesson 7");
    // --- END root ---
}

/// The container's cgroup: made on the host before the container starts, with its limits.
fn make_cgroup(s: &mut State) {
    // --- BEGIN cgroup (lessons 2, 8) ---
    // ## Make a cgroup of the container's own and write its limits; add each directory made to
    // ## made().cgroup_dirs (join_cgroup puts the container in them, cleanup removes them).
    // ## Which kind of machine: statfs("/sys/fs/cgroup") says CGROUP2_SUPER_MAGIC on v2, tmpfs
    // ## on v1 or hybrid (lesson 2). v2: one directory; enable cpu, memory, pids in the parent's
    // ## cgroup.subtree_control; cpu.max "QUOTA PERIOD", memory.max, memory.swap.max 0, pids.max.
    // ## v1 and hybrid: one directory per controller (/sys/fs/cgroup/cpu, memory, pids);
    // ## cpu.cfs_period_us and cpu.cfs_quota_us, memory.limit_in_bytes (and
    // ## memory.memsw.limit_in_bytes, the same: no swap), pids.max (lesson 8).
    // ## Done when: /proc/<pid>/cgroup of the container names the group, and its files hold
    // ## the limits.
    // TODO: write this (lessons 2, 8); the lines above say what it must do.
    todo("cgroup", "lessons 2, 8");
    // --- END cgroup ---
}

/// This program joins the group just before clone(): the child is born in it (everything the
/// container starts is in it from its first instruction), and its new cgroup namespace has the
/// group as its root.
fn join_cgroup(s: &mut State) {
    // --- BEGIN cgroup (lessons 2, 8) ---
    // ## Remember this program's own group in each hierarchy of made().cgroup_dirs
    // ## (s.own_groups: /proc/self/cgroup says which, lesson 2), then write this process's pid
    // ## into cgroup.procs of each of those directories (lesson 8: a process joins the group,
    // ## its children are born in it).
    // ## Done when: /proc/<pid>/cgroup of the container's PID 1 shows the group.
    // TODO: write this (lessons 2, 8); the lines above say what it must do.
    todo("cgroup", "lessons 2, 8");
    // --- END cgroup ---
}

/// Once clone() has made the container's PID 1 in the group, this program goes back to its own
/// groups: only the container's processes count against its limits, and the OOM killer chooses
/// among them alone.
fn leave_cgroup(s: &State) {
    // --- BEGIN cgroup (lessons 2, 8) ---
    // ## Write this process's pid into cgroup.procs of each of s.own_groups.
    // ## Done when: the group's cgroup.procs lists the container's processes and nothing else.
    // TODO: write this (lessons 2, 8); the lines above say what it must do.
    todo("cgroup", "lessons 2, 8");
    // --- END cgroup ---
}

/// The namespaces the container is clone()d into.
fn choose_namespaces(s: &mut State) {
    // --- BEGIN namespaces (lessons 3-5, 9) ---
    // ## Choose clone()'s flags: CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID,
    // ## CLONE_NEWNET and CLONE_NEWCGROUP (lessons 3, 4, 5, 9), and SIGCHLD, so that this program
    // ## is told when the child ends and can waitpid() for it. The child is PID 1 of the new PID
    // ## namespace (lesson 4).
    // ## Done when: /proc/<pid>/ns/* of the container differ from /proc/self/ns/* of the host.
    // TODO: write this (lessons 3-5, 9); the lines above say what it must do.
    todo("namespaces", "lessons 3-5, 9");
    // --- END namespaces ---
}

/// The network, from the host: the container's network namespace is its PID 1's.
fn connect_network(s: &State) {
    // --- BEGIN network (lesson 6) ---
    // ## Give the container's network namespace lo, up; and with --ip a veth pair: the host's end
    // ## up and enslaved to s.bridge, the container's end named eth0, with s.ip, up, and a default
    // ## route via s.gateway. Record the host's end in made().veth (cleanup deletes it).
    // ## run_cmd(pid, &[...]) runs `ip` in the container's network namespace (setns, as
    // ## nsenter -n does, lesson 6); run_cmd(0, &[...]) runs it on the host.
    // ## Done when: ip inside (nsenter -t <pid> -n ip addr; ip route) shows lo up, eth0 with the
    // ## address and the default route; /proc/<pid>/net/route has it; ping crosses.
    // TODO: write this (lesson 6); the lines above say what it must do.
    todo("network", "lesson 6");
    // --- END network ---
}

/// In the container, first: its mounts are its own from now on (mount --make-rprivate /).
fn private_mounts() {
    // --- BEGIN namespaces (lessons 3-5, 9) ---
    // ## Make every mount of the new mount namespace private (mount of nothing on "/" with
    // ## MS_REC | MS_PRIVATE), before anything is mounted: a shared / would carry the overlay and
    // ## /proc back to the host (lesson 3).
    // ## Done when: the host's /proc/self/mountinfo does not change while the container runs.
    // TODO: write this (lessons 3-5, 9); the lines above say what it must do.
    todo("namespaces", "lessons 3-5, 9");
    // --- END namespaces ---
}

/// A device number, as makedev() makes it.
fn makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xfffff000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffffff00) << 12) | (minor & 0xff)
}

/// mount(2), or die with what failed.
fn mount_or_die(source: &str, target: &str, fstype: &str, flags: u64, data: &str, what: &str) {
    let data = cstr(data);
    if unsafe { mount(cstr(source).as_ptr(), cstr(target).as_ptr(), cstr(fstype).as_ptr(), flags, data.as_ptr() as *const c_void) } < 0 {
        die(format!("cannot mount {}: {}", what, errno()));
    }
}

/// In the container, as PID 1 of its PID namespace: the hostname, /proc, /dev, pivot_root.
fn enter_root(s: &State) {
    // --- BEGIN namespaces (lessons 3-5, 9) ---
    // ## Turn cdir/merged into the container's /, as lesson 3 does with the rootfs:
    // ## sethostname(host) (the UTS namespace is the container's own); a fresh proc at
    // ## merged/proc (mounted from inside the new PID namespace, lesson 4) and a small /dev (a
    // ## tmpfs with null, zero, full, random, urandom, tty and a devpts of its own);
    // ## chdir(merged); mkdir .old_root; syscall(SYS_PIVOT_ROOT, ".", ".old_root");
    // ## chdir("/"); umount2("/.old_root", MNT_DETACH); remove /.old_root.
    // ## Done when: /proc/<pid>/mountinfo of the container holds /, /proc and /dev only, and no
    // ## host file is reachable from its root; /proc/1 inside is the command.
    // TODO: write this (lessons 3-5, 9); the lines above say what it must do.
    todo("namespaces", "lessons 3-5, 9");
    // --- END namespaces ---
}

/// CMD, with the environment docker run gives (not the host's variables), as PID 1.
fn exec_command(s: &State) -> ! {
    let term = std::env::var("TERM").unwrap_or_default();
    for (name, _) in std::env::vars_os() {
        std::env::remove_var(name);
    }
    std::env::set_var("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    std::env::set_var("HOSTNAME", &s.host);
    std::env::set_var("HOME", "/root");
    if !term.is_empty() {
        std::env::set_var("TERM", term);
    }
    let args: Vec<CString> = s.cmd.iter().map(|a| cstr(a)).collect();
    let mut argv: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    unsafe { execvp(argv[0], argv.as_ptr()) };
    // As docker run: 127 when the command is not there, 126 when it cannot be run.
    let e = errno();
    eprintln!("mydocker: cannot run {}: {}", s.cmd[0], e);
    process::exit(if e.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 })
}

/// The clone() child, born in the new namespaces: PID 1 of its PID namespace.
extern "C" fn container_main(arg: *mut c_void) -> c_int {
    let s = unsafe { &*(arg as *const State) };
    IN_CONTAINER.store(true, Ordering::SeqCst);
    unsafe {
        // Signals as they were before mydocker run caught them: CMD gets the usual ones.
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGALRM, SIG_DFL);
        close(s.ready[1]);
    }
    // Until the host says go; if it is gone instead (end of file), so is this.
    let mut go = [0u8; 2];
    if unsafe { read(s.ready[0], go.as_mut_ptr() as *mut c_void, 2) } != 2 || &go != b"go" {
        unsafe { _exit(125) };
    }
    unsafe { close(s.ready[0]) };
    private_mounts();
    mount_root(s);
    enter_root(s);
    exec_command(s)
}

/// Everything the container was, removed. It runs on the way out, once the container is dead.
fn cleanup() {
    // --- BEGIN cleanup (lessons 2-8, Clean up) ---
    // ## Remove what this run made (made()): the veth (deleting the host's end deletes both),
    // ## the cgroup directories (rmdir, once no process is left in them), and the container's
    // ## directory with upper, work and merged (only if this run made it: another container's
    // ## directory is not ours). The overlay, /proc and /dev were mounted in the container's own
    // ## mount namespace: they went with it.
    // ## Done when: nothing is left: no mount, no directory in $lab/containers, no cgroup, no
    // ## link (ip link), no process.
    // TODO: write this (lessons 2-8, Clean up); the lines above say what it must do.
    todo("cleanup", "lessons 2-8, Clean up");
    // --- END cleanup ---
}

/// Stop the container, if it still runs: SIGKILL to its PID 1 ends every process of its PID
/// namespace. Once PID 1 has exited, its namespaces (with their mounts and links) are gone.
fn stop_container() {
    let pid = CONTAINER_PID.swap(0, Ordering::SeqCst);
    if pid > 0 {
        unsafe {
            kill(pid, SIGKILL);
            waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
}

/// SIGINT or SIGTERM: passed on to the container's PID 1, and SIGKILL 2 s later if it is still
/// there (a PID 1 without a handler ignores them, lesson 4); before the container, kept for later.
extern "C" fn on_signal(sig: c_int) {
    let pid = CONTAINER_PID.load(Ordering::SeqCst);
    if pid > 0 {
        let again = PENDING_SIGNAL.load(Ordering::SeqCst) != 0; // the second one: no more waiting
        unsafe {
            kill(pid, if again { SIGKILL } else { sig });
            alarm(2);
        }
    }
    PENDING_SIGNAL.store(sig, Ordering::SeqCst);
}
extern "C" fn on_alarm(_sig: c_int) {
    let pid = CONTAINER_PID.load(Ordering::SeqCst);
    if pid > 0 {
        unsafe { kill(pid, SIGKILL) };
    }
}

/// A SIGINT or SIGTERM that came before the container ran: stop now (finish cleans up).
fn stop_if_asked() {
    let sig = PENDING_SIGNAL.load(Ordering::SeqCst);
    if sig != 0 {
        finish(128 + sig);
    }
}

/// mydocker run: on the host.
fn run(args: &[String]) -> ! {
    let mut s = parse_args(args);
    STARTED.store(true, Ordering::SeqCst);
    unsafe {
        signal(SIGINT, on_signal as extern "C" fn(c_int) as usize);
        signal(SIGTERM, on_signal as extern "C" fn(c_int) as usize);
        signal(SIGALRM, on_alarm as extern "C" fn(c_int) as usize);
    }
    prepare_root(&mut s);
    stop_if_asked();
    make_cgroup(&mut s);
    stop_if_asked();
    choose_namespaces(&mut s);
    // The container waits on this pipe until the host side is done (the network).
    if unsafe { pipe(s.ready.as_mut_ptr()) } < 0 {
        die(format!("cannot make a pipe: {}", errno()));
    }
    unsafe {
        fcntl(s.ready[0], F_SETFD, FD_CLOEXEC);
        fcntl(s.ready[1], F_SETFD, FD_CLOEXEC);
    }
    // The child's stack: clone() is given its top (stacks grow down), 16-byte aligned.
    let mut stack = vec![0u8; 1024 * 1024];
    let top = ((stack.as_mut_ptr() as usize + stack.len()) & !15) as *mut c_void;
    let _ = std::io::stdout().flush(); // the child must not print what this process has buffered
    join_cgroup(&mut s);
    let pid = unsafe { clone(container_main, top, s.clone_flags, &s as *const State as *mut c_void) };
    let clone_error = errno();
    if pid > 0 {
        CONTAINER_PID.store(pid, Ordering::SeqCst);
    }
    leave_cgroup(&s);
    if pid < 0 {
        die(format!("clone failed: {}", clone_error));
    }
    unsafe { close(s.ready[0]) };
    stop_if_asked();
    connect_network(&s);
    stop_if_asked();
    if unsafe { write(s.ready[1], b"go".as_ptr() as *const c_void, 2) } != 2 {
        die(format!("cannot tell the container to go on: {}", errno()));
    }
    unsafe { close(s.ready[1]) };
    let mut status: c_int = 0;
    while unsafe { waitpid(pid, &mut status, 0) } < 0 {
        let e = errno();
        if e.kind() != std::io::ErrorKind::Interrupted {
            die(format!("cannot wait for the container: {}", e));
        }
    }
    CONTAINER_PID.store(0, Ordering::SeqCst);
    drop(stack);
    // The wait status: the low 7 bits the signal that killed it (0: it exited), then the code.
    let code = if status & 0x7f != 0 { 128 + (status & 0x7f) } else { (status >> 8) & 0xff };
    finish(code)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(|a| a.as_str()) {
        Some("run") => run(&args[2..]),
        Some("-h") | Some("--help") | Some("help") => println!("{}", USAGE),
        _ => {
            eprintln!("{}", USAGE);
            process::exit(125);
        }
    }
}
