import type { Catalog } from '../messages.js';

export default {
  'A PID namespace: your shell becomes PID 1': 'PID 命名空间：你的 shell 成为 PID 1',
  'A new PID namespace without its own /proc: ps has nothing to read': '新的 PID 命名空间，却没有自己的 /proc：ps 无从读取',
  'Mount /proc from inside the namespace: ps lists only the container': '在命名空间内部挂载 /proc：ps 只列出容器的进程',
  "From the host, the container's processes are ordinary processes": '从宿主机上看，容器的进程就是普通进程',
  'its own PID namespace': '有自己的 PID 命名空间',
  'the first process is PID 1': '第一个进程是 PID 1',
  '/proc belongs to the container': '/proc 属于容器',
  'unshare(CLONE_NEWPID|...), then the next child is PID 1; it mounts proc at /proc before exec': 'unshare(CLONE_NEWPID|...)，之后的下一个子进程就是 PID 1；它在 exec 之前把 proc 挂载到 /proc',
  '# the same process seen from the host:': '# 从宿主机上看同一个进程：',
  "{0} is in the host's PID namespace ({1})": '{0} 在宿主机的 PID 命名空间中（{1}）',
  'add --pid --fork to unshare (CLONE_NEWPID): without --fork, unshare itself stays outside and only its children enter': '给 unshare 加上 --pid --fork（CLONE_NEWPID）：没有 --fork 时，unshare 自己留在外面，只有它的子进程进入',
  'NSpid: {0}: host pid {1} is pid 1 inside': 'NSpid: {0}：宿主机 pid {1} 在内部是 pid 1',
  'NSpid: {0}: the oldest process inside is pid {1}': 'NSpid: {0}：内部最早的进程是 pid {1}',
  'PID 1 has exited (and the namespace with it) or the shell is not the first child after unshare --pid --fork': 'PID 1 已经退出（命名空间也随之结束），或者 shell 不是 unshare --pid --fork 之后的第一个子进程',
  'nothing of type proc is mounted at /proc inside: ps fails there': '内部的 /proc 上没有挂载 proc 类型的文件系统：ps 在那里会失败',
  'mount it from inside: mount -t proc proc /proc (or unshare --mount-proc)': '从内部挂载：mount -t proc proc /proc（或用 unshare --mount-proc）',
  "the /proc inside lists {0} processes; its pid 1 is in {1}, not the container's {2}": '内部的 /proc 列出 {0} 个进程；其中 pid 1 在 {1} 中，不在容器的 {2} 中',
  "the /proc inside lists {0} processes; its pid 1 is in no namespace, not the container's {1}": '内部的 /proc 列出 {0} 个进程；其中 pid 1 不在任何命名空间中，也不在容器的 {1} 中',
  "that proc was mounted by a process outside the new PID namespace (or is the host's): mount it from PID 1 or a child of it, after unshare --pid --fork":
    '这个 proc 是由新 PID 命名空间之外的进程挂载的（或者就是宿主机的）：在 unshare --pid --fork 之后，从 PID 1 或它的子进程挂载',
  'ps inside sees 1 process ({0}); the host counts {1} in that namespace': '内部的 ps 看到 1 个进程（{0}）；宿主机在该命名空间中数到 {1} 个',
  'ps inside sees {0} processes ({1}); the host counts {2} in that namespace': '内部的 ps 看到 {0} 个进程（{1}）；宿主机在该命名空间中数到 {2} 个',
  "A PID namespace numbers processes anew: the first process in it is PID 1 (the namespace's init), and the processes inside see only each other. ps reads /proc, so the container needs a /proc of its own, mounted from inside; the host's /proc still lists every process.":
    'PID 命名空间给进程重新编号：其中的第一个进程是 PID 1（该命名空间的 init），里面的进程只看得到彼此。ps 读取的是 /proc，所以容器需要一个自己的 /proc，从内部挂载；宿主机的 /proc 仍然列出所有进程。',
  "unshare(2) with CLONE_NEWPID does not move its caller: its first child is PID 1 (so unshare --pid needs --fork). A proc filesystem shows the PID namespace of the process that mounted it (mount -t proc proc /proc inside, or unshare --mount-proc). From the host, the NSpid line of /proc/<pid>/status gives a process's pid in each namespace, the innermost last: the check reads it.":
    '带 CLONE_NEWPID 的 unshare(2) 不会移动调用者本身：它的第一个子进程才是 PID 1（所以 unshare --pid 需要 --fork）。proc 文件系统显示的是挂载它的那个进程所在的 PID 命名空间（在内部执行 mount -t proc proc /proc，或用 unshare --mount-proc）。从宿主机上看，/proc/<pid>/status 的 NSpid 行给出一个进程在每一层命名空间中的 pid，最内层的在最后：检查读的就是这一行。',
  'Leave a shell running in new PID and mount namespaces with its own /proc: {0}': '让一个 shell 在新的 PID 命名空间和挂载命名空间中保持运行，并带有自己的 /proc：{0}',
} satisfies Catalog;
