import type { Catalog } from '../messages.js';

export default {
  '(nothing is mounted there yet)': '（那里还什么都没有挂载）',
  '(the layers hold no files yet)': '（各层里还没有文件）',
  'the union at {0}: layers top first, as mountinfo lists them': '{0} 处的联合挂载：各层自上而下，顺序同 mountinfo',
  'the layers (not mounted yet)': '各层（尚未挂载）',
  '{0} merged shows this one': '{0} merged 显示的是这一份',
  '{0} hidden by a layer above': '{0} 被上面的层遮住',
  '{0} whiteout (deleted)': '{0} whiteout（已删除）',
  'merged: the layer (row number) each name comes from': 'merged 行：每一项来自哪一层（行号）',
  '{0} the layer has it': '{0} 该层有这一项',
  '{0} whiteout': '{0} whiteout（白化文件）',
  'now {0}': '当前 {0}',
  '(nothing busy to follow yet: the loop of step 3, or what is in "{0}")': '（还没有可跟踪的忙碌进程：第 3 步的循环，或 "{0}" 中的进程）',
  'before the quota: {0}': '受配额限制前：{0}',
  'under the quota: {0}': '受配额限制时：{0}',
  '(+{0} in 1 s)': '（1 s 内 +{0}）',
  'CPU share of the busy loop, the last {0} s, newest right': '忙循环的 CPU 占用，最近 {0} s，最新的在右',
  '{0} the loop came under the quota (in "{1}", quota set)': '{0} 循环从此受配额限制（已在 "{1}" 中，配额已设）',
  '{0} the check was measuring': '{0} 检查测量的时段',
  '{0} = {1} of one CPU': '{0} = 一个 CPU 的 {1}',
} satisfies Catalog;
