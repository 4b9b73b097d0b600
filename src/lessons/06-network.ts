// Lesson 6: give the container a network: a bridge on the host (a switch), a veth pair (a
// cable) from it into the container, addresses, a default route; a second container on the
// same bridge; and NAT with a published port, between namespaces the lesson makes itself.
import { Netlink, HintedError, SyscallError, netOps, pingFrom, tcpBetween, routes as rt, type Link, type Address, type Namespace, type Running, type NetOp, type ContainerShape, LockBusyError, describeHolder } from '../core/index.js';
import { pass, fail, type CheckResult } from '../checks/result.js';
import { containerLeaders, describe, type LabProcess } from '../checks/containers.js';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { holdMachineName, type Lab, type MachineName } from '../lab.js';
import { defineLesson, earlier, type LessonContext, type LessonContainer } from './types.js';
import { inContainer, lines } from './show.js';
import { rootfsStep, startLessonContainer, prepareStepContainer, locateContainer, killLabContainers, containerShell, IDLE_SHELL, LOCATED, type ContainerState, type StepContainer } from './container-common.js';
import { wiringPicture } from '../pictures/wiring.js';
import { msg, t } from '../i18n/messages.js';

const NS: Namespace[] = ['mnt', 'uts', 'ipc', 'pid', 'net'];
/** A container of this lesson other than its first (the second one, the NAT world's three). */
const otherContainer = (lab: Lab, hostname: string): ContainerShape => ({ rootfs: lab.rootfs, namespaces: NS, hostname, mountProc: true });
/** The lesson's container; its step declares it, so the TUI can prepare it ahead. */
const CONTAINER: LessonContainer = { namespaces: NS, hostname: 'container', mountProc: true };
/** The bridge has one name for the whole machine, like docker0. */
export const BRIDGE = 'clbr0';
// what: shown to learners (translated where shown); msg() takes a literal, so BRIDGE is spelled out.
const BRIDGE_NAME: MachineName = { key: `link-${BRIDGE}`, what: msg('the bridge clbr0') };
/** Host links the workbook makes carry an alias that starts with this (`ip -d link` shows
 * it), followed by a UUID of the run that made it: a recovery removes only its own. */
export const LINK_ALIAS = 'container-lessons';
const runAlias = () => `${LINK_ALIAS} ${randomUUID()}`;
const isOurs = (l: Link) => l.alias === LINK_ALIAS || !!l.alias?.startsWith(`${LINK_ALIAS} `);
/** Host ends of the cables: clveth0, clveth1, ... */
const HOST_END = 'clveth';
const SUBNETS = ['10.99.0.0/24', '10.199.0.0/24', '172.29.99.0/24', '192.168.199.0/24'] as const;
export const SUBNET_VAR = 'CONTAINER_LESSONS_SUBNET';

/** An error a learner can act on: what is wrong, and what to do. */
export class NetworkError extends HintedError {}

export interface NetworkPlan {
  bridge: string;
  subnet: string;
  prefix: number;
  gateway: string;
  /** The n-th container's address (1: the first). */
  address: (n: number) => string;
  /** Why the lesson cannot use its subnet on this machine. */
  problem?: { message: string; hint: string };
}

/** The subnet lesson 6 uses: CONTAINER_LESSONS_SUBNET, or the first of a few small private
 * ones that no host route touches (routes on the lesson's own bridge do not count). */
export function networkPlan(hostRoutes: rt.Route[] = safeRoutes()): NetworkPlan {
  const wanted = process.env[SUBNET_VAR]?.trim();
  let subnet: string = SUBNETS[0];
  let problem: NetworkPlan['problem'];
  if (wanted) {
    try {
      const s = rt.parseSubnet(wanted);
      subnet = `${s.network}/${s.prefix}`;
      const hit = rt.collisions(subnet, hostRoutes, BRIDGE);
      if (hit.length) {
        problem = {
          message: t`the subnet ${subnet} (${SUBNET_VAR}) collides with the host route ${hit.map(rt.describeRoute).join(', ')}: the host could no longer tell which link its packets belong on`,
          hint: t`choose a private subnet no host route uses (see ip route), e.g. ${SUBNET_VAR}=${SUBNETS.find((c) => !rt.collisions(c, hostRoutes, BRIDGE).length) ?? '10.123.0.0/24'}`,
        };
      }
    } catch (err) {
      problem = { message: `${SUBNET_VAR}: ${(err as Error).message}`, hint: t`set it to a private subnet such as ${SUBNETS[0]}, or unset it` };
    }
  } else {
    const free = SUBNETS.find((c) => !rt.collisions(c, hostRoutes, BRIDGE).length);
    if (free) subnet = free;
    else {
      problem = {
        message: t`every subnet lesson 6 would use (${SUBNETS.join(', ')}) collides with a host route`,
        hint: t`pick a free private /24 (see ip route) and set ${SUBNET_VAR}, e.g. ${SUBNET_VAR}=10.123.0.0/24`,
      };
    }
  }
  const { prefix } = rt.parseSubnet(subnet);
  return { bridge: BRIDGE, subnet, prefix, gateway: rt.hostAddress(subnet, 1), address: (n) => rt.hostAddress(subnet, n + 1), problem };
}

function safeRoutes(): rt.Route[] {
  try {
    return rt.readRoutes('self');
  } catch {
    return [];
  }
}

interface State extends ContainerState {
  plan?: NetworkPlan;
  container2?: Running;
}

/** The bridge name is the machine's: one workbook in this lesson at a time. */
/** What making the bridge needs of its caller: lesson 6's steps, or the capstone's suite. */
type BridgeCaller = Pick<LessonContext, 'ledger' | 'lockWaitMs' | 'note'>;

function lockBridge(ctx?: BridgeCaller) {
  return holdMachineName(BRIDGE_NAME, { waitMs: ctx?.lockWaitMs, onWait: (who) => ctx?.note?.(t`waiting for the bridge ${BRIDGE}: ${who} is using it`) });
}

/** A netlink failure said in the learner's terms. */
export function explainNetlink(err: unknown, kind?: string): never {
  if (err instanceof SyscallError && err.code === 'EOPNOTSUPP' && kind) {
    throw new NetworkError(
      t`the kernel cannot make a ${kind} link (${err.message})`,
      t`load its module: modprobe ${kind} (on Ubuntu it is in linux-modules-extra-$(uname -r)); \`container-lessons doctor\` lists what is missing. Nothing was left behind.`,
    );
  }
  throw err;
}

function hostNetlink<T>(fn: (nl: Netlink) => T): T {
  const nl = new Netlink();
  try {
    return fn(nl);
  } finally {
    nl.close();
  }
}

/** Make the bridge on the host, after taking its name (a leftover of ours is replaced). */
export async function makeBridge(ctx: BridgeCaller, plan: NetworkPlan): Promise<string[]> {
  if (plan.problem) throw new NetworkError(plan.problem.message, plan.problem.hint);
  const release = await lockBridge(ctx);
  ctx.ledger.defer(`release the lock on the bridge name ${BRIDGE}`, release);
  const said: string[] = [];
  hostNetlink((nl) => {
    const old = nl.links().find((l) => l.name === BRIDGE);
    if (old && !isOurs(old)) {
      throw new NetworkError(
        t`a link named ${BRIDGE} already exists and container-lessons did not make it (${old.kind === 'bridge' ? t`a bridge with ports of its own` : old.kind ? t`a ${old.kind} link` : t`a plain link`})`,
        t`lesson 6 needs that name for its bridge: remove or rename the link (ip link del ${BRIDGE}) if nothing else needs it`,
      );
    }
    if (old) {
      nl.delete(BRIDGE);
      said.push(t`removed a bridge ${BRIDGE} an earlier run left behind`);
    }
    // The kernel takes no alias with a new link, so the bridge is made under a name of this
    // run's own, marked, and only then renamed: whenever this process is killed, a recovery
    // finds either that name (removed by name alone) or the bridge carrying its alias.
    const alias = runAlias();
    const temporary = `cltmp${randomUUID().slice(0, 8)}`;
    const made = ctx.ledger.add({ kind: 'link', name: temporary });
    try {
      nl.addBridge(temporary);
    } catch (err) {
      made.drop();
      explainNetlink(err, 'bridge');
    }
    nl.setAlias(temporary, alias);
    ctx.ledger.add({ kind: 'link', name: BRIDGE, alias });
    nl.rename(temporary, BRIDGE);
    made.drop();
    nl.addAddress(BRIDGE, `${plan.gateway}/${plan.prefix}`);
    nl.setUp(BRIDGE);
  });
  return said;
}

/** A veth pair from the bridge into the container's network namespace, named eth0 there,
 * then lo, an address and a default route inside. Returns the host end's name. */
async function wire(ctx: LessonContext<State>, plan: NetworkPlan, c: Running, n: number): Promise<string> {
  const hostEnd = plugIn(ctx, c.pid);
  await netOps(c.pid, insideOps(plan, n));
  return hostEnd;
}

/** The container's side of the cable: lo and eth0 up, its address, a default route via the bridge. */
function insideOps(plan: NetworkPlan, n: number): NetOp[] {
  return [
    { op: 'up', name: 'lo' },
    { op: 'address', name: 'eth0', cidr: `${plan.address(n)}/${plan.prefix}` },
    { op: 'up', name: 'eth0' },
    { op: 'defaultRoute', gateway: plan.gateway },
  ];
}

/** The host's side: a veth pair from the bridge into the network namespace of `pid`, named
 * eth0 there. Returns the host end's name. */
function plugIn(ctx: LessonContext<State>, pid: number): string {
  return hostNetlink((nl) => {
    const taken = new Set(nl.links().map((l) => l.name));
    let i = 0;
    while (taken.has(`${HOST_END}${i}`)) i++;
    const name = `${HOST_END}${i}`;
    // The pair dies with the container's namespace; the journal entry covers a crash before that.
    const alias = runAlias();
    const entry = ctx.ledger.add({ kind: 'link', name, alias });
    try {
      nl.addVeth(name, 'eth0', pid);
    } catch (err) {
      entry.drop();
      explainNetlink(err, 'veth');
    }
    nl.setAlias(name, alias);
    nl.setMaster(name, BRIDGE);
    nl.setUp(name);
    return name;
  });
}

const fmtPing = (from: string, r: { to: string; ok: boolean; rttMs?: number; error?: string }) => (r.ok ? t`ping ${r.to} from ${from}: echo reply in ${r.rttMs!.toFixed(2)} ms` : t`ping ${r.to} from ${from}: ${r.error}`);

function showLinks(links: Link[], addresses: Address[]): string {
  return links
    .map((l) => {
      const a = addresses.filter((x) => x.index === l.index).map((x) => `${x.addr}/${x.prefix}`);
      return `${l.name.padEnd(10)} ${(l.kind ?? '').padEnd(7)} ${(l.up ? 'UP' : 'DOWN').padEnd(5)} ${a.join(' ')}`.trimEnd();
    })
    .join('\n');
}

const byHandContainer = (lab: Lab) => `unshare --mount --uts --ipc --pid --net --fork --mount-proc=${lab.rootfs}/proc chroot ${lab.rootfs} sh`;

function byHandWire(plan: NetworkPlan, n: number, pidVar: string): string[] {
  return [
    `ip link add ${HOST_END}${n - 1} type veth peer name eth0 netns $${pidVar}`,
    `ip link set ${HOST_END}${n - 1} master ${BRIDGE} up`,
    `nsenter -t $${pidVar} -n ip link set lo up`,
    `nsenter -t $${pidVar} -n ip addr add ${plan.address(n)}/${plan.prefix} dev eth0`,
    `nsenter -t $${pidVar} -n ip link set eth0 up`,
    `nsenter -t $${pidVar} -n ip route add default via ${plan.gateway}`,
  ];
}

// The NAT demonstration's own little world: nothing here touches the host's network.
const NAT = {
  inside: '10.0.0.0/24',
  routerIn: '10.0.0.1',
  app: '10.0.0.2',
  outside: '198.51.100.0/24', // TEST-NET-2: documentation addresses, never routed anywhere
  routerOut: '198.51.100.1',
  client: '198.51.100.2',
  published: 8080,
  appPort: 80,
  clientPort: 9000,
};
/** How long the connection made without NAT (which cannot succeed) is given. */
const BEFORE_NAT_WAIT_MS = 150;

/** The checks, by the titles their results carry (the text lists each). */
const CHECKS = {
  own: 'its own network namespace',
  bridge: `a bridge ${BRIDGE} on the host`,
  veth: `a veth from a container to ${BRIDGE}`,
  wiredA: 'the container: links up, lo, address, default route',
  out: 'the container reaches the host',
  back: 'the host reaches the container',
  wiredB: 'the second container: links up, lo, address, default route',
  second: 'a second container reaches the first',
} as const;

const network = defineLesson<State>({
  id: 'network',
  title: 'A network: veth, bridge, routes, NAT',
  text: '06-network.md',
  placeholders: () => {
    const net = networkPlan();
    return { bridge: net.bridge, subnet: net.subnet, prefix: String(net.prefix), gateway: net.gateway, addr1: net.address(1), addr2: net.address(2) };
  },
  machineNames: [BRIDGE_NAME],
  needs: {
    namespaces: NS,
    // veth pairs and bridges; the NAT step needs nf_tables with the nat chain type, nat and masquerade.
    kernelModules: [
      { name: 'veth', symbol: 'veth_newlink' },
      { name: 'bridge', symbol: 'br_dev_xmit' },
      { name: 'nf_tables', symbol: 'nft_do_chain' },
      { name: 'nft_chain_nat', symbol: 'nft_nat_do_chain' },
      { name: 'nft_nat', symbol: 'nft_nat_eval' },
      { name: 'nft_masq', symbol: 'nft_masq_eval' },
    ],
  },
  newState: () => ({}),
  checks: [LOCATED, ...Object.values(CHECKS)],
  steps: [
    rootfsStep,
    {
      title: `A bridge on the host: a switch with an address (${BRIDGE})`,
      commands: () => {
        const p = networkPlan();
        return [`ip route   # is ${p.subnet} free?`, `ip link add ${BRIDGE} type bridge`, `ip addr add ${p.gateway}/${p.prefix} dev ${BRIDGE}`, `ip link set ${BRIDGE} up`];
      },
      async run(ctx) {
        const plan = networkPlan();
        ctx.state.plan = plan;
        const said = await makeBridge(ctx, plan);
        const { links, addresses } = hostNetlink((nl) => ({ links: nl.links(), addresses: nl.addresses() }));
        const route = rt.readRoutes('self').filter((r) => r.iface === BRIDGE);
        return lines(
          ...said,
          t`host routes checked: ${plan.subnet} touches none of them`,
          `RTM_NEWLINK ${BRIDGE} type bridge, RTM_NEWADDR ${plan.gateway}/${plan.prefix}, up`,
          showLinks(
            links.filter((l) => l.name === BRIDGE),
            addresses,
          ),
          t`# the kernel added a route for the subnet: ${route.map(rt.describeRoute).join(', ') || t`(none yet)`}`,
        );
      },
    },
    {
      title: 'Start the container: a network namespace of its own, lo only',
      commands: (lab) => [`${byHandContainer(lab)}   # in a second terminal`, 'PID=$(lsns -t net -n -o PID,COMMAND | awk \'$2 == "unshare" {print $1}\' | tail -1)   # back on the host'],
      container: CONTAINER,
      async run(ctx) {
        const c = await startLessonContainer(ctx, CONTAINER);
        const { links, addresses } = await netOps(c.pid, []);
        return lines(t`container started, host pid ${c.pid}`, showLinks(links, addresses));
      },
    },
    {
      title: 'A veth pair: a cable from the bridge into the container',
      commands: () => byHandWire(networkPlan(), 1, 'PID'),
      async run(ctx) {
        const plan = earlier(ctx.state.plan, t`the network plan`);
        const c = earlier(ctx.state.container, t`the container`);
        const hostEnd = await wire(ctx, plan, c, 1);
        const host = hostNetlink((nl) => ({ links: nl.links(), addresses: nl.addresses() }));
        return lines(
          t`veth ${hostEnd} <-> eth0 (made in the container's namespace), ${hostEnd} plugged into ${BRIDGE}`,
          t`# on the host:`,
          showLinks(
            host.links.filter((l) => l.name === BRIDGE || l.name === hostEnd),
            host.addresses,
          ),
          await inContainer(c, NS, 'ip -brief addr; ip route'),
        );
      },
    },
    {
      title: 'Packets both ways: the container reaches the host, the host reaches the container',
      commands: () => {
        const p = networkPlan();
        return [`nsenter -t $PID -n ping -c1 ${p.gateway}`, `ping -c1 ${p.address(1)}`];
      },
      async run(ctx) {
        const plan = earlier(ctx.state.plan, t`the network plan`);
        const c = earlier(ctx.state.container, t`the container`);
        // Two namespaces, two helpers: neither echo waits for the other.
        const [out, back] = await Promise.all([pingFrom(c.pid, plan.gateway), pingFrom(0, plan.address(1))]);
        return lines(fmtPing(t`the container`, out), fmtPing(t`the host`, back), t`# (ICMP echo sent by the workbook from each namespace: the default root filesystem may have no ping)`);
      },
    },
    {
      title: 'A second container on the same bridge reaches the first',
      commands: (lab) => [`${byHandContainer(lab)}   # a third terminal`, 'PID2=<its pid, as above>', ...byHandWire(networkPlan(), 2, 'PID2'), `nsenter -t $PID2 -n ping -c1 ${networkPlan().address(1)}`],
      alsoStarts: (lab) => [otherContainer(lab, 'container2')],
      async run(ctx) {
        const plan = earlier(ctx.state.plan, t`the network plan`);
        const a = earlier(ctx.state.container, t`the container`);
        // Wired before its command runs: its PID 1 sets up its side itself (no helper).
        const made = await prepareStepContainer(ctx, otherContainer(ctx.lab, 'container2'), IDLE_SHELL);
        const hostEnd = plugIn(ctx, made.pid);
        const b = await made.start(insideOps(plan, 2));
        ctx.state.container2 = b;
        const [r, r2] = await Promise.all([pingFrom(b.pid, plan.address(1)), pingFrom(a.pid, plan.address(2))]);
        return lines(
          t`second container, host pid ${b.pid}, cable ${hostEnd} into ${BRIDGE}`,
          fmtPing('container2', r),
          fmtPing(t`the first container`, r2),
          t`# the bridge forwards between its ports by MAC address, like a switch: the host does not route these`,
        );
      },
    },
    {
      title: 'NAT and a published port, in a small world of its own (router, app, outside)',
      commands: () => [
        'ip netns add router; ip netns add app; ip netns add outside',
        'ip link add in0 netns router type veth peer name eth0 netns app',
        'ip link add out0 netns router type veth peer name eth0 netns outside',
        `ip -n router addr add ${NAT.routerIn}/24 dev in0; ip -n router addr add ${NAT.routerOut}/24 dev out0`,
        `ip -n app addr add ${NAT.app}/24 dev eth0; ip -n outside addr add ${NAT.client}/24 dev eth0`,
        'ip -n router link set lo up; ip -n router link set in0 up; ip -n router link set out0 up',
        'ip -n app link set lo up; ip -n app link set eth0 up; ip -n outside link set lo up; ip -n outside link set eth0 up',
        `ip -n app route add default via ${NAT.routerIn}`,
        'ip netns exec router sysctl -w net.ipv4.ip_forward=1',
        'ip netns exec router nft add table ip nat',
        "ip netns exec router nft add chain ip nat postrouting '{ type nat hook postrouting priority 100; }'",
        'ip netns exec router nft add rule ip nat postrouting oifname out0 masquerade',
        "ip netns exec router nft add chain ip nat prerouting '{ type nat hook prerouting priority -100; }'",
        `ip netns exec router nft add rule ip nat prerouting iifname out0 tcp dport ${NAT.published} dnat to ${NAT.app}:${NAT.appPort}`,
        'ip netns del router; ip netns del app; ip netns del outside   # when done: the links go with them',
      ],
      alsoStarts: (lab) => ['router', 'app', 'outside'].map((name) => otherContainer(lab, name)),
      // The NAT rules' helper and three TCP tries (two at once).
      helpers: 4,
      async run(ctx) {
        const prepare = (hostname: string) => prepareStepContainer(ctx, otherContainer(ctx.lab, hostname), IDLE_SHELL);
        // Three independent containers: made together. Every one is in the ledger before a
        // failure is thrown, so the clean-up misses none.
        const made = await Promise.allSettled([prepare('router'), prepare('app'), prepare('outside')]);
        const refused = made.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (refused) throw refused.reason;
        const [routerMade, appMade, outsideMade] = made.map((r) => (r as PromiseFulfilledResult<StepContainer>).value) as [StepContainer, StepContainer, StepContainer];
        // Both cables, each end made in its own namespace (as `ip link add in0 netns router
        // type veth peer name eth0 netns app` does); then each PID 1 sets up its own side
        // before its command runs, all three at once.
        hostNetlink((nl) => {
          try {
            nl.addVeth('in0', 'eth0', appMade.pid, routerMade.pid);
            nl.addVeth('out0', 'eth0', outsideMade.pid, routerMade.pid);
          } catch (err) {
            explainNetlink(err, 'veth'); // nothing on the host: the pairs go with the namespaces
          }
        });
        const up = (...names: string[]): NetOp[] => names.map((name) => ({ op: 'up', name }));
        const [router, app, outside] = await Promise.all([
          routerMade.start([{ op: 'address', name: 'in0', cidr: `${NAT.routerIn}/24` }, { op: 'address', name: 'out0', cidr: `${NAT.routerOut}/24` }, ...up('lo', 'in0', 'out0'), { op: 'sysctl', key: 'net/ipv4/ip_forward', value: '1' }]),
          appMade.start([{ op: 'address', name: 'eth0', cidr: `${NAT.app}/24` }, ...up('lo', 'eth0'), { op: 'defaultRoute', gateway: NAT.routerIn }]),
          // "outside" knows nothing of 10.0.0.0/24, like the internet knows nothing of your LAN.
          outsideMade.start([{ op: 'address', name: 'eth0', cidr: `${NAT.client}/24` }, ...up('lo', 'eth0')]),
        ]);
        const toOutside = (timeoutMs: number) => tcpBetween({ server: { pid: outside.pid, port: NAT.clientPort }, client: { pid: app.pid, to: NAT.client, port: NAT.clientPort }, timeoutMs });
        // Without NAT the SYN-ACK has no route back and nothing else answers: the attempt can
        // only end by its timeout. Across veths a connection that works is made in about a
        // millisecond, so a short wait still tells the two apart; the NAT-ed attempts below
        // end as soon as they connect and keep the long timeout.
        const before = await toOutside(BEFORE_NAT_WAIT_MS);
        await netOps(router.pid, [{ op: 'nat', rules: { table: 'container_lessons', masqueradeOut: 'out0', publish: [{ inIf: 'out0', port: NAT.published, to: NAT.app, toPort: NAT.appPort }] } }]).catch((err: Error) => {
          throw new NetworkError(
            t`the kernel refused the NAT rules: ${err.message}`,
            t`NAT needs nf_tables with nat and masquerade (modprobe nf_tables nft_chain_nat nft_nat nft_masq); \`container-lessons doctor\` shows what this kernel has. The bridge and the containers above do not need it.`,
          );
        });
        // Two separate connections (app -> outside:9000, outside -> router:8080), each with its own listener.
        const [after, published] = await Promise.all([toOutside(1000), tcpBetween({ server: { pid: app.pid, port: NAT.appPort }, client: { pid: outside.pid, to: NAT.routerOut, port: NAT.published }, timeoutMs: 1000 })]);
        if (before.ok || !after.ok || !published.ok || after.serverSaw?.split(':')[0] !== NAT.routerOut) {
          throw new Error(
            `the NAT demonstration did not behave: without NAT ${before.ok ? 'connected' : 'no answer'}, masquerade ${after.ok ? `seen as ${after.serverSaw}` : after.error}, published port ${published.ok ? 'answered' : published.error}`,
          );
        }
        return lines(
          t`router (pid ${router.pid}): in0 ${NAT.routerIn}/24, out0 ${NAT.routerOut}/24, ip_forward=1 in its namespace only`,
          t`app (pid ${app.pid}): ${NAT.app}, default via ${NAT.routerIn}; outside (pid ${outside.pid}): ${NAT.client}, no route to ${NAT.inside}`,
          t`without NAT, app -> ${NAT.client}:${NAT.clientPort}: ${before.ok ? t`connected (${before.serverSaw})` : t`${before.error} (the answer has no way back to ${NAT.app})`}`,
          t`# nf_tables in the router: oifname "out0" masquerade; iifname "out0" tcp dport 8080 dnat to 10.0.0.2:80`,
          t`with masquerade, app -> ${NAT.client}:${NAT.clientPort}: ${after.ok ? t`app used ${after.clientLocal}, outside saw ${after.serverSaw}` : after.error}`,
          t`published port, outside -> ${published.clientDialled}: ${published.ok ? t`app's listener on :${NAT.appPort} got it from ${published.serverSaw}` : published.error}`,
        );
      },
    },
  ],

  async check(lab) {
    return checkNetwork(lab);
  },
  // Each plugged container's links read in its namespace, and three pings at once.
  checkHelpers: 5,

  hints: (lab) => {
    const p = networkPlan();
    // The newest unshare of a container: it made the network namespace and stays in it.
    const pidOf = (v: string) => `${v}=$(pgrep -n -f '^unshare --mount --uts --ipc --pid --net')`;
    return [
      t`A new network namespace is cut off. Docker wires it with a veth pair, a virtual cable (what enters one end leaves the other): one end goes into the container, the other is a port of a bridge on the host, a virtual switch whose own address is the containers' gateway. Each container needs its end and lo up, an address in the bridge's subnet and a default route via the bridge.`,
      t`It is all rtnetlink, as ip speaks it: ip link add ${BRIDGE} type bridge; ip link add ${HOST_END}0 type veth peer name eth0 netns <pid> (the peer lands in the network namespace of that pid); ip link set ${HOST_END}0 master ${BRIDGE}; nsenter -t <pid> -n runs a command in that namespace. Here: ${BRIDGE} ${p.gateway}/${p.prefix}, the containers ${p.address(1)} and ${p.address(2)}. The check reads the links from the host and /proc/<pid>/net/route, and pings both ways.`,
      [
        `ip link add ${BRIDGE} type bridge; ip addr add ${p.gateway}/${p.prefix} dev ${BRIDGE}; ip link set ${BRIDGE} up`,
        `${byHandContainer(lab)}   # in a second terminal, left running`,
        `${pidOf('PID')}   # back on the host`,
        ...byHandWire(p, 1, 'PID'),
        `${byHandContainer(lab)}   # in a third terminal`,
        pidOf('PID2'),
        ...byHandWire(p, 2, 'PID2'),
      ].join('\n'),
    ];
  },

  // The bridge and its cables, the NAT world and its rules, the last packets' path marked.
  picture: wiringPicture({ bridge: BRIDGE }),

  async reset(lab) {
    let release: () => void;
    try {
      release = await lockBridge();
    } catch (err) {
      if (err instanceof LockBusyError) return [t`left ${BRIDGE} alone: ${describeHolder(err.holder)} is using it`];
      throw err;
    }
    try {
      // The containers first: a veth pair dies with the namespace at either end.
      const removed = await killLabContainers(lab);
      hostNetlink((nl) => {
        const links = nl.links();
        const isHostEnd = (l: Link) => l.kind === 'veth' && new RegExp(`^${HOST_END}\\d+$`).test(l.name);
        for (const l of links) {
          let ours = isHostEnd(l);
          if (l.name === BRIDGE) {
            // Ours, or the learner's from this lesson's text: a bridge with only our ports.
            const foreign = links.filter((p) => p.master === l.index && !isHostEnd(p));
            ours = isOurs(l) || (l.kind === 'bridge' && !foreign.length);
            if (!ours) {
              const why =
                l.kind === 'bridge' ? t`it has ports container-lessons did not make (${foreign.map((p) => p.name).join(', ')})` : l.kind ? t`it is a ${l.kind} link, not the lesson's bridge` : t`it is a plain link, not the lesson's bridge`;
              removed.push(t`left ${BRIDGE} alone: ${why}`);
            }
          }
          if (!ours) continue;
          try {
            nl.delete(l.name);
            removed.push(t`link ${l.name}`);
          } catch {
            /* gone with its peer */
          }
        }
      });
      return removed;
    } finally {
      release();
    }
  },

  shell: containerShell(CONTAINER),
});

export default network;

interface Inside {
  p: LabProcess;
  links: Link[];
  addresses: Address[];
  routes: rt.Route[];
  /** Its end of a veth whose other end is plugged into the bridge, and that other end. */
  cable?: { inner: Link; outer: Link };
}

async function look(p: LabProcess, hostLinks: Link[], bridge: Link | undefined): Promise<Inside | null> {
  try {
    const { links, addresses } = await netOps(p.pid, []);
    const routes = rt.readRoutes(p.pid);
    let cable: Inside['cable'];
    for (const inner of links.filter((l) => l.kind === 'veth')) {
      const outer = hostLinks.find((h) => h.index === inner.peer && h.kind === 'veth' && h.peer === inner.index);
      if (outer && (!cable || (bridge && outer.master === bridge.index))) cable = { inner, outer };
    }
    return { p, links, addresses, routes, cable };
  } catch {
    return null; // it ended while we looked
  }
}

/** The containers worth looking inside for a cable to the host: those whose network
 * namespace the peer of a host link lives in (by the namespace ids the host gives them),
 * so that namespaces wired only among themselves (the NAT step's) cost no helper. With no
 * such container, the first one, whose links the failure then lists. */
function cabled(own: LabProcess[], hostLinks: Link[]): LabProcess[] {
  const peers = new Set(hostLinks.filter((l) => l.kind === 'veth' && l.peerNetnsId !== null).map((l) => l.peerNetnsId));
  const ids = hostNetlink((nl) =>
    own.map((p) => {
      try {
        return nl.netnsIdOf(p.pid);
      } catch {
        return null; // it ended while we looked
      }
    }),
  );
  const wired = own.filter((_, i) => ids[i] !== null && peers.has(ids[i]!));
  return wired.length ? wired : own.slice(0, 1);
}

export async function checkNetwork(lab: Lab): Promise<CheckResult[]> {
  const plan = networkPlan();
  const located = locateContainer(lab, 'net', byHandContainer(lab));
  if (Array.isArray(located)) return located;
  const { host, results, all } = located;
  const seenNs = new Set<string>();
  const own = containerLeaders(all).filter((p) => p.ns.net !== host.net && !seenNs.has(p.ns.net!) && seenNs.add(p.ns.net!));
  if (!own.length) {
    results.push(fail(CHECKS.own, t`no process in the rootfs has a network namespace of its own`, t`start the container with --net: ${byHandContainer(lab)}`, ['/proc/*/ns/net']));
    return results;
  }
  results.push(
    pass(
      CHECKS.own,
      own.length === 1 ? t`1 container with a network namespace of its own` : t`${own.length} containers with a network namespace of its own`,
      own.map((p) => `/proc/${p.pid}/ns/net`),
    ),
  );

  const hostNet = hostNetlink((nl) => ({ links: nl.links(), addresses: nl.addresses() }));
  const looked = ['RTM_GETLINK', 'RTM_GETADDR'];
  const bridge = hostNet.links.find((l) => l.name === BRIDGE);
  const bridgeAddr = bridge && hostNet.addresses.find((a) => a.index === bridge.index);
  if (bridge?.kind !== 'bridge') {
    results.push(
      fail(CHECKS.bridge, !bridge ? t`the host has no link ${BRIDGE}` : bridge.kind ? t`${BRIDGE} is a ${bridge.kind} link, not a bridge` : t`${BRIDGE} is a plain link, not a bridge`, `ip link add ${BRIDGE} type bridge`, looked),
    );
    return results;
  }
  if (!bridge.up || !bridgeAddr) {
    const what = !bridge.up && !bridgeAddr ? t`${BRIDGE} is down and has no IPv4 address` : !bridge.up ? t`${BRIDGE} is down` : t`${BRIDGE} has no IPv4 address`;
    results.push(fail(CHECKS.bridge, what, [!bridgeAddr && `ip addr add ${plan.gateway}/${plan.prefix} dev ${BRIDGE}`, !bridge.up && `ip link set ${BRIDGE} up`].filter(Boolean).join('; '), looked));
    return results;
  }
  const gateway = bridgeAddr.addr;
  const subnet = { network: rt.fromInt(rt.toInt(gateway) & (bridgeAddr.prefix ? (0xffffffff << (32 - bridgeAddr.prefix)) >>> 0 : 0)), prefix: bridgeAddr.prefix };
  const subnetText = `${subnet.network}/${subnet.prefix}`;
  results.push(pass(CHECKS.bridge, t`${BRIDGE} is up with ${gateway}/${bridgeAddr.prefix}`, looked));

  const insides = (await Promise.all(cabled(own, hostNet.links).map((p) => look(p, hostNet.links, bridge)))).filter((x): x is Inside => x !== null);
  const plugged = insides.filter((x) => x.cable && x.cable.outer.master === bridge.index);
  const [a] = plugged;
  if (!a) {
    const x = insides.find((i) => i.cable) ?? insides[0];
    const detail = x?.cable
      ? t`${describe(x.p)} has a veth (${x.cable.inner.name}) whose host end ${x.cable.outer.name} is not plugged into ${BRIDGE}`
      : t`no container has a veth whose other end is on the host (${x ? t`${describe(x.p)} has ${x.links.map((l) => l.name).join(', ')}` : t`none could be read`})`;
    results.push(
      fail(CHECKS.veth, detail, x?.cable ? `ip link set ${x.cable.outer.name} master ${BRIDGE}` : `ip link add ${HOST_END}0 type veth peer name eth0 netns <container pid>; ip link set ${HOST_END}0 master ${BRIDGE} up`, [
        t`RTM_GETLINK (IFLA_LINK: the peer of a veth)`,
      ]),
    );
    return results;
  }
  results.push(pass(CHECKS.veth, t`${describe(a.p)}: ${a.cable!.inner.name} inside <-> ${a.cable!.outer.name} on ${BRIDGE}`, ['RTM_GETLINK (IFLA_LINK, IFLA_MASTER)']));

  const wiring = (x: Inside, title: string): CheckResult | null => {
    const { inner, outer } = x.cable!;
    const pid = x.p.pid;
    const addr = x.addresses.find((ad) => ad.index === inner.index);
    const lo = x.links.find((l) => l.name === 'lo');
    const def = x.routes.find((r) => r.prefix === 0);
    const looked = [t`RTM_GETLINK/RTM_GETADDR in pid ${pid}'s namespace`, `/proc/${pid}/net/route`];
    if (!outer.up || !inner.up) {
      const down =
        !outer.up && !inner.up
          ? t`${outer.name} (host end) and ${inner.name} (inside) are down: no packet crosses a link that is down`
          : !outer.up
            ? t`${outer.name} (host end) is down: no packet crosses a link that is down`
            : t`${inner.name} (inside) is down: no packet crosses a link that is down`;
      return fail(title, down, [!outer.up && `ip link set ${outer.name} up`, !inner.up && `nsenter -t ${pid} -n ip link set ${inner.name} up`].filter(Boolean).join('; '), looked);
    }
    if (!lo?.up) return fail(title, t`lo is down inside: the container cannot even reach itself at 127.0.0.1`, `nsenter -t ${pid} -n ip link set lo up`, looked);
    if (!addr) return fail(title, t`${inner.name} has no IPv4 address`, `nsenter -t ${pid} -n ip addr add ${plan.address(1)}/${subnet.prefix} dev ${inner.name}`, looked);
    if (!rt.inSubnet(addr.addr, subnet) || addr.addr === gateway) {
      return fail(
        title,
        t`${inner.name} has ${addr.addr}/${addr.prefix}, ${addr.addr === gateway ? t`the bridge's own address` : t`outside ${BRIDGE}'s subnet ${subnetText}`}: the container would not find the host on this link`,
        `nsenter -t ${pid} -n ip addr del ${addr.addr}/${addr.prefix} dev ${inner.name}; nsenter -t ${pid} -n ip addr add ${plan.address(1)}/${subnet.prefix} dev ${inner.name}`,
        looked,
      );
    }
    if (!def || def.gateway !== gateway) {
      return fail(
        title,
        !def
          ? t`no default route inside: anything beyond the subnet is unreachable`
          : def.gateway
            ? t`the default route goes via ${def.gateway} dev ${def.iface}, not the bridge`
            : t`the default route goes via no gateway dev ${def.iface}, not the bridge`,
        `nsenter -t ${pid} -n ip route ${def ? 'replace' : 'add'} default via ${gateway}`,
        looked,
      );
    }
    return null;
  };
  const wrongA = wiring(a, CHECKS.wiredA);
  if (wrongA) {
    results.push(wrongA);
    return results;
  }
  const addrA = a.addresses.find((ad) => ad.index === a.cable!.inner.index)!.addr;
  results.push(pass(CHECKS.wiredA, t`${a.cable!.inner.name} ${addrA}/${subnet.prefix} up, lo up, default via ${gateway}`, [`/proc/${a.p.pid}/net/route`]));

  // Every echo the check may report is sent at once: each comes from its own namespace
  // and helper, and none changes anything. Which of them count is decided as before:
  // the second container's only once the first reaches and is reached by the host.
  const b = plugged[1];
  const wrongB = b ? wiring(b, CHECKS.wiredB) : null;
  const [out, back, ab] = await Promise.all([pingFrom(a.p.pid, gateway, { count: 2, waitMs: 500 }), pingFrom(0, addrA, { count: 2, waitMs: 500 }), b && !wrongB ? pingFrom(b.p.pid, addrA, { count: 2, waitMs: 500 }) : null]);
  results.push(out.ok ? pass(CHECKS.out, fmtPing(t`the container`, out), ['ICMP echo']) : fail(CHECKS.out, fmtPing(t`the container`, out), t`look at both ends with ip link; the host's firewall may drop ICMP on ${BRIDGE}`, ['ICMP echo']));
  results.push(back.ok ? pass(CHECKS.back, fmtPing(t`the host`, back), ['ICMP echo']) : fail(CHECKS.back, fmtPing(t`the host`, back), t`is ${addrA} unique on ${subnetText}? (ip neigh show dev ${BRIDGE})`, ['ICMP echo']));
  if (!out.ok || !back.ok) return results;

  if (!b) {
    results.push(fail(CHECKS.second, t`only one container is plugged into ${BRIDGE}`, t`start a second one the same way, with ${plan.address(2)}/${subnet.prefix}`, ['RTM_GETLINK']));
    return results;
  }
  if (wrongB) {
    results.push(wrongB);
    return results;
  }
  if (!ab) return results; // not reached: the echo above is sent whenever b is wired
  results.push(
    ab.ok ? pass(CHECKS.second, `${describe(b.p)}: ${fmtPing(t`it`, ab)}`, ['ICMP echo']) : fail(CHECKS.second, fmtPing(describe(b.p), ab), bridgedFirewallHint() ?? t`both veths must be on ${BRIDGE} and up (bridge link)`, ['ICMP echo']),
  );
  return results;
}

/** With br_netfilter loaded (Docker loads it) bridged packets pass the host's iptables
 * FORWARD chain, whose policy Docker sets to DROP: container-to-container traffic on any
 * other bridge is dropped. The workbook does not change the host's firewall; it says so. */
function bridgedFirewallHint(): string | null {
  try {
    if (fs.readFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').trim() !== '1') return null;
  } catch {
    return null; // br_netfilter is not loaded: bridged frames never meet iptables
  }
  return t`br_netfilter is loaded (net.bridge.bridge-nf-call-iptables = 1), so packets between two ports of ${BRIDGE} go through the host's iptables FORWARD chain, which Docker sets to DROP. Allow them while you work: iptables -I FORWARD -i ${BRIDGE} -o ${BRIDGE} -j ACCEPT (and iptables -D ... the same afterwards)`;
}
