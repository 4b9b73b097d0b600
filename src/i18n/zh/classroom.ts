import type { Catalog } from '../messages.js';

export default {
  // src/classroom/report.ts
  'class what? the one subcommand is report': 'class 要做什么？它只有一个子命令：report',
  'class {0}: the one subcommand is report': 'class {0}：只有一个子命令 report',
  'container-lessons class report results/*.json   (class --help says more)': 'container-lessons class report results/*.json   （详见 class --help）',
  'class report needs the collected files (or a directory of them)': 'class report 需要收集来的文件（或存放它们的目录）',
  "container-lessons class report results/*.json   (the playbook's collect play writes them: classroom/ansible)": 'container-lessons class report results/*.json   （由 playbook 的 collect play 写出：classroom/ansible）',
  'not collected: {0}': '未能收集：{0}',
  'every lesson passed': '所有课程都已通过',
  '(+{0} more)': '（另有 {0} 项）',
  VM: '虚拟机',
  'VM/learner': '虚拟机/学员',
  capstone: '结业项目',
  'stuck on': '卡在',
  '{0} passed  {1} current  {2} not yet   capstone: its checks passed/all': '{0} 已通过  {1} 当前  {2} 未开始   结业项目：通过的检查数/总数',
  'stuck on: the current lesson and the first check it still fails': '卡在：当前这一课，以及它第一项仍未通过的检查',
  'lesson {0}: {1}': '第 {0} 课：{1}',
  '{0} learners, {1} passed the capstone': '共 {0} 位学员，{1} 位通过了结业项目',
  'now on: {0}': '当前所在：{0}',
  'container-lessons class report: {0}: {1}': 'container-lessons class report：{0}：{1}',
  "(a collected file holds a VM's host, learner, list, current and capstone: classroom/README.md says how the collect play writes it)":
    '（收集来的文件包含一台虚拟机的 host、learner、list、current 和 capstone：collect play 如何写出它，见 classroom/README.md）',

  // src/classroom/collected.ts
  'no output': '没有输出',
  '{0} (exit {1})': '{0}（退出码 {1}）',
  '{0} has no "lessons" list (it should be what `container-lessons list --json` prints)': '{0} 里没有 "lessons" 列表（它应当是 `container-lessons list --json` 的输出）',
  '{0}: lesson {1} lacks a number, an id or a state (passed, current or open)': '{0}：第 {1} 课缺少 number、id 或 state（passed、current 或 open）',
  '{0} is not what `container-lessons check --json` prints (no "passed" and "checks")': '{0} 不是 `container-lessons check --json` 的输出（没有 "passed" 和 "checks"）',
  '{0}: check {1} lacks a title or a status': '{0}：第 {1} 项检查缺少 title 或 status',
  'not a JSON object': '不是 JSON 对象',
  'no "list": not a file the collect play writes (classroom/ansible) nor `container-lessons list --json`': '没有 "list"：既不是 collect play（classroom/ansible）写出的文件，也不是 `container-lessons list --json` 的输出',
  'list: {0}': 'list：{0}',
  'check of the current lesson: {0}': '检查当前这一课：{0}',
  'check capstone: {0}': 'check capstone：{0}',
  'no such file': '没有这个文件',
  'cannot read it ({0})': '无法读取（{0}）',
  'it is empty': '文件是空的',
  'not JSON ({0})': '不是 JSON（{0}）',
} satisfies Catalog;
