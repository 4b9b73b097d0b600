import type { Catalog } from '../messages.js';

export default {
  'A network namespace: only lo': '网络命名空间：只有 lo',
  "Without a network namespace the container sees the host's interfaces": '没有网络命名空间时，容器看得到宿主机的网络接口',
  'With one: a fresh network stack that has only the loopback device': '有了它：一个全新的网络栈，只有回环接口',
  'its own network namespace': '有自己的网络命名空间',
  'only lo inside': '内部只有 lo',
  'unshare(CLONE_NEWNET|...): the new namespace starts with lo only, and lo is down': 'unshare(CLONE_NEWNET|...)：新的命名空间一开始只有 lo，而且 lo 未启用',
  '# the host reads the same from /proc/<pid>/net/dev, which shows the namespace of that process:': '# 宿主机从 /proc/<pid>/net/dev 读到的也是这些，它显示的是该进程所在的命名空间：',
  "{0} shares the host's network namespace and sees {1}": '{0} 与宿主机共用网络命名空间，看得到 {1}',
  'add --net to unshare (CLONE_NEWNET)': '给 unshare 加上 --net（CLONE_NEWNET）',
  'interfaces inside: lo; the host has {0}': '内部的网络接口：lo；宿主机有 {0}',
  'interfaces inside: {0}': '内部的网络接口：{0}',
  'interfaces inside: none': '内部的网络接口：无',
  '{0} belong to the host: the container is not in a network namespace of its own': '{0} 属于宿主机：容器不在自己的网络命名空间中',
  'a fresh network namespace has only lo; remove the extra links (ip link del) or start a new one': '全新的网络命名空间只有 lo；删掉多出来的网络接口（ip link del），或者另起一个新的',
  "A network namespace is a network stack of its own: interfaces, addresses, routes, firewall rules. A new one holds only the loopback device lo, and lo is down; the host's interfaces stay with the host (a network device is in one network namespace at a time).":
    '网络命名空间是一个独立的网络栈：网络接口、地址、路由、防火墙规则都是它自己的。新建的网络命名空间里只有回环接口 lo，而且 lo 未启用；宿主机的网络接口留在宿主机上（一个网络设备同一时间只属于一个网络命名空间）。',
  'unshare(2) with CLONE_NEWNET (unshare --net). /proc/<pid>/ns/net names the network namespace of a process (compare it with /proc/self/ns/net), and /proc/<pid>/net/dev lists the interfaces of that namespace: the check reads both.':
    '带 CLONE_NEWNET 的 unshare(2)（即 unshare --net）。/proc/<pid>/ns/net 标识一个进程的网络命名空间（拿它与 /proc/self/ns/net 比较），/proc/<pid>/net/dev 列出该命名空间的网络接口：检查两个都读。',
  'Leave a shell running in a new network namespace as well: {0}': '让一个 shell 保持运行，这次还要在新的网络命名空间中：{0}',
  'interfaces inside: lo, and {0}, which the kernel adds to every new network namespace while their tunnel modules are loaded; the host has {1}':
    '内部的网络接口：lo，以及 {0}（隧道模块加载时，内核会把它们加进每个新的网络命名空间）；宿主机有 {1}',
} satisfies Catalog;
